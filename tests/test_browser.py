"""The chat page at `GET /`, driven in a real browser (Debian's Chromium through Playwright)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from agents import FunctionTool, function_tool
from playwright.async_api import Browser, Page, WebSocketRoute, async_playwright, expect

from agents_app.config import load_config
from agents_app.engine import Engine
from agents_app.graph import build_graph
from agents_app.models.providers import build_backend
from agents_app.server.app import STATIC, create_app
from agents_app.server.in_loop import serving
from agents_app.sinks.websocket import WebSocketSink
from agents_app.testing import Fail, Reply, ScriptedOpenAIServer, Text, ToolCall
from agents_app.testing.configs import unguarded_config
from tests.conftest import LiveServer, live_server, offline_settings
from tests.deps import chromium

JOKE = "Tell me a joke about programming"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# Without the networking switches Chromium reaches for Google's services, which is traffic
# this machine must not make (and would wait on).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def page_url(live: LiveServer) -> str:
    return live.url.replace("ws://", "http://", 1)


async def open_chat(browser: Browser, url: str) -> Page:
    page = await browser.new_page(viewport={"width": 1000, "height": 900})
    await page.goto(url)
    await expect(page.locator("#status")).to_have_text("connected")
    return page


async def send(page: Page, text: str) -> None:
    await page.fill("#message", text)
    await page.press("#message", "Enter")


async def screenshot(page: Page, name: str) -> None:
    """A test artifact (tests/artifacts/, not committed) to look at what users see."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def test_page_is_served_and_needs_nothing_from_outside(server: LiveServer) -> None:
    async with httpx.AsyncClient() as client:
        page = await client.get(page_url(server))
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        for name in ("chat.js", "chat.css"):
            asset = await client.get(page_url(server) + f"static/{name}")
            assert asset.status_code == 200
    # No CDN, fonts or analytics: the page must work on a machine with no network.
    for path in STATIC.iterdir():
        assert not re.search(r"https?://", path.read_text()), path.name


async def test_joke_run_shows_badge_switch_tool_card_and_streamed_text(browser: Browser) -> None:
    engine = Engine.from_settings(offline_settings(offline_pace_s=0.01))
    async with live_server(engine) as live:
        page = await open_chat(browser, page_url(live))
        await send(page, JOKE)

        # Text is on the page while the run is still going: it streams.
        streaming = page.locator(".msg.assistant.streaming .text")
        await expect(streaming).to_have_text(re.compile(r"\w+"))
        await expect(page.locator("#cancel")).to_be_visible()

        await expect(page.locator(".run-completed")).to_be_visible()
        await expect(page.locator("#speaking")).to_have_text("Joker")
        switch = page.locator(".switch")
        await expect(switch).to_have_count(1)
        await expect(switch.locator(".badge")).to_have_text(["Triage", "Joker"])

        card = page.locator(".tool-card")
        await expect(card).to_have_count(1)
        await expect(card.locator(".tool-name")).to_have_text("how_many_jokes")
        await expect(card.locator(".tool-args")).to_have_text("{}")
        await expect(card.locator(".tool-output")).to_have_text("3")
        await expect(card.locator(".tool-status")).to_have_text(re.compile(r"done · \d+ ms"))
        await expect(card).to_have_class(re.compile(r"\bdone\b"))

        message = page.locator(".msg.assistant")
        await expect(message.locator(".badge")).to_have_text("Joker")
        await expect(message.locator(".text")).to_contain_text("3 jokes about programming")
        await expect(page.locator("#cancel")).to_be_hidden()
        await expect(page.locator("#send")).to_be_enabled()

        await screenshot(page, "chat-joke-run")


async def test_page_reads_batch_frames(browser: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    # A slow link (20 ms a frame) and a model at full speed: events pile up, arrays come.
    original = WebSocketSink.send

    async def slow_send(self: WebSocketSink, frame: str) -> None:
        await asyncio.sleep(0.02)
        await original(self, frame)

    monkeypatch.setattr(WebSocketSink, "send", slow_send)
    engine = Engine.from_settings(offline_settings(offline_pace_s=0.0))
    async with live_server(engine) as live:
        page = await browser.new_page(viewport={"width": 1000, "height": 900})
        urls: list[str] = []
        arrays: list[list[dict[str, object]]] = []
        final: list[str] = []

        def route(ws: WebSocketRoute) -> None:
            urls.append(ws.url)
            server = ws.connect_to_server()

            def to_page(message: str | bytes) -> None:
                data = json.loads(message)
                events = data if isinstance(data, list) else [data]
                if isinstance(data, list):
                    arrays.append(data)
                final.extend(str(e["final_output"]) for e in events if "final_output" in e)
                ws.send(message)

            server.on_message(to_page)

        await page.route_web_socket(re.compile(r"^ws://"), route)
        await page.goto(page_url(live))
        await expect(page.locator("#status")).to_have_text("connected")
        await send(page, JOKE)
        await expect(page.locator(".run-completed")).to_be_visible(timeout=15_000)
        assert "batch=1" in urls[0] and arrays
        await expect(page.locator(".run")).to_have_count(1)
        await expect(page.locator(".switch")).to_have_count(1)
        await expect(page.locator(".tool-card")).to_have_count(1)
        await expect(page.locator(".run-end")).to_have_count(1)
        await expect(page.locator(".msg.assistant .text")).to_have_text(final[0].strip())


async def test_cancel_button_stops_the_run(browser: Browser) -> None:
    engine = Engine.from_settings(offline_settings(offline_pace_s=0.05))
    async with live_server(engine) as live:
        page = await open_chat(browser, page_url(live))
        await send(page, JOKE)
        await expect(page.locator(".msg.assistant .text")).to_have_text(re.compile(r"\w+"))
        await page.click("#cancel")

        await expect(page.locator(".run-cancelled")).to_have_text("Cancelled: cancelled by client")
        await expect(page.locator(".msg.assistant.streaming")).to_have_count(0)
        await expect(page.locator("#cancel")).to_be_hidden()
        await expect(page.locator("#send")).to_be_enabled()
        await screenshot(page, "chat-cancelled")
        # The connection is still good for the next run.
        await send(page, "hello")
        await expect(page.locator(".run")).to_have_count(2)
        await expect(page.locator(".run").nth(1).locator(".msg.assistant")).to_be_visible()


async def test_page_rejoins_its_run_after_a_dropped_connection_and_draws_nothing_twice(
    browser: Browser,
) -> None:
    engine = Engine.from_settings(offline_settings(offline_pace_s=0.03))
    async with live_server(engine) as live:
        page = await browser.new_page(viewport={"width": 1000, "height": 900})
        sockets: list[WebSocketRoute] = []
        joins: list[dict[str, object]] = []

        def route(ws: WebSocketRoute) -> None:
            server = ws.connect_to_server()
            sockets.append(ws)

            def to_server(message: str | bytes) -> None:
                command = json.loads(message) if str(message).startswith("{") else {}
                if command.get("type") == "run.join":
                    joins.append(command)
                    # Ask for the whole run again: the page itself must skip what it drew.
                    message = json.dumps({**command, "after_seq": 0})
                server.send(message)

            ws.on_message(to_server)

        await page.route_web_socket(re.compile(r"^ws://"), route)
        await page.goto(page_url(live))
        await expect(page.locator("#status")).to_have_text("connected")
        await send(page, JOKE)
        await expect(page.locator(".tool-card")).to_have_count(1)
        await expect(page.locator(".msg.assistant .text")).to_have_text(re.compile(r"\w+"))
        await sockets[0].close()  # the page's socket drops mid-answer

        await expect(page.locator(".run-completed")).to_be_visible(timeout=15_000)
        assert len(sockets) == 2 and len(joins) == 1
        assert joins[0]["run_id"] and int(str(joins[0]["after_seq"])) > 0
        await expect(page.locator(".run")).to_have_count(1)
        await expect(page.locator(".switch")).to_have_count(1)
        await expect(page.locator(".tool-card")).to_have_count(1)
        await expect(page.locator(".msg.assistant")).to_have_count(1)
        await expect(page.locator(".run-end")).to_have_count(1)
        await expect(page.locator(".rejoin")).to_have_count(0)
        await expect(page.locator(".msg.assistant .text")).to_contain_text(
            "3 jokes about programming"
        )
        await screenshot(page, "chat-rejoined")


async def test_model_error_is_shown_as_an_error(browser: Browser) -> None:
    with ScriptedOpenAIServer([Fail(401)]) as srv:
        settings = offline_settings(
            provider="openai",
            api_key="sk-secret-key",
            base_url=srv.base_url,
            model_max_retries=0,
            config_path=unguarded_config(),  # the failing request is the agent's, not a judge's
        )
        async with live_server(Engine.from_settings(settings)) as live:
            page = await open_chat(browser, page_url(live))
            await send(page, JOKE)
            failed = page.locator(".run-failed")
            await expect(failed).to_be_visible()
            await expect(failed).to_contain_text("Error (model_error)")
            await expect(failed).to_have_attribute("role", "alert")
            await expect(page.locator("#send")).to_be_enabled()
            assert "sk-secret-key" not in await page.content()
            await screenshot(page, "chat-model-error")


@pytest.mark.parametrize(("usage", "shown"), [(None, "tokens unknown"), ((12, 4), "12 in + 4 out")])
async def test_the_run_end_says_tokens_unknown_rather_than_zero(
    browser: Browser, usage: tuple[int, int] | None, shown: str
) -> None:
    # A provider that streams no usage (llama.cpp's server) must not read as 0 tokens.
    with ScriptedOpenAIServer([Reply([Text("Hello there")], usage=usage)]) as srv:
        settings = offline_settings(
            provider="openai",
            api_key="sk-test",
            base_url=srv.base_url,
            api="chat_completions",
            model_max_retries=0,
            config_path=unguarded_config(),
        )
        async with live_server(Engine.from_settings(settings)) as live:
            page = await open_chat(browser, page_url(live))
            await send(page, "hi")
            done = page.locator(".run-completed")
            await expect(done).to_contain_text(shown)
            await expect(done).not_to_contain_text("null")


@function_tool
def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"kaboom: {reason}")


async def test_failing_tool_card_shows_its_error(browser: Browser, tmp_path: Path) -> None:
    config_path = tmp_path / "agents.yaml"
    config_path.write_text(
        "version: 1\nstart: solo\nagents:\n  solo:\n    name: Solo\n"
        "    instructions: use the tool\n    tools: [explode]\n"
    )
    tools: dict[str, FunctionTool] = {"explode": explode}
    script = [
        Reply([ToolCall("explode", arguments='{"reason": "test"}')]),
        Reply([Text("The tool failed, sorry.")]),
    ]
    with ScriptedOpenAIServer(script) as srv:
        settings = offline_settings(
            provider="openai", api_key="sk-test", base_url=srv.base_url, config_path=config_path
        )
        graph = build_graph(load_config(config_path, tool_names=tools), get_tool=tools.__getitem__)
        engine = Engine(settings, graph, build_backend(settings))
        async with live_server(engine) as live:
            page = await open_chat(browser, page_url(live))
            await send(page, "go")
            await expect(page.locator(".run-completed")).to_be_visible()
            card = page.locator(".tool-card")
            await expect(card).to_have_class(re.compile(r"\bfailed\b"))
            await expect(card.locator(".tool-args")).to_contain_text('"reason": "test"')
            # The exception's type, not its text: that is for the server's log only.
            await expect(card.locator(".tool-error")).to_contain_text("RuntimeError")
            await expect(card.locator(".tool-error")).not_to_contain_text("kaboom")
            await expect(card.locator(".tool-status")).to_have_text(re.compile(r"error · \d+ ms"))
            await screenshot(page, "chat-tool-error")


async def test_page_reconnects_after_the_socket_drops(browser: Browser) -> None:
    engine = Engine.from_settings(offline_settings(offline_pace_s=0.02))
    port = _free_port()
    async with _serve_on(engine, port):
        page = await open_chat(browser, f"http://127.0.0.1:{port}/")
        await send(page, JOKE)
        await expect(page.locator(".msg.assistant .text")).to_have_text(re.compile(r"\w+"))
    # The server went away mid-run: the page says so and keeps trying.
    await expect(page.locator(".rejoin")).to_contain_text("connection lost")
    await expect(page.locator("#status")).to_have_text(re.compile("reconnecting"))
    await expect(page.locator("#send")).to_be_disabled()
    await screenshot(page, "chat-reconnecting")
    # A new server (a new process, for all it knows) on the same store: the page rejoins
    # the run, which went on meanwhile, and it ends once, in place.
    async with _serve_on(engine, port):
        await expect(page.locator("#status")).to_have_text("connected", timeout=15_000)
        await expect(page.locator(".run-completed")).to_be_visible(timeout=10_000)
        await expect(page.locator(".rejoin")).to_have_count(0)
        await send(page, "hello")
        await expect(page.locator(".run-completed")).to_have_count(2, timeout=10_000)
        await expect(page.locator(".run")).to_have_count(2)


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def _serve_on(engine: Engine, port: int) -> AsyncIterator[None]:
    app = create_app(engine)
    async with serving(app, port=port, lifespan="off", timeout_graceful_shutdown=1):
        yield


@pytest.mark.parametrize("approve", [True, False])
async def test_an_approval_card_decides_the_call_and_the_run_goes_on(
    browser: Browser, tmp_path: Path, approve: bool
) -> None:
    from tests.test_approvals import approvals_config

    settings = offline_settings(offline_pace_s=0.01, config_path=approvals_config(tmp_path))
    async with live_server(Engine.from_settings(settings)) as live:
        page = await open_chat(browser, page_url(live))
        await send(page, JOKE)
        card = page.locator(".approval-card")
        await expect(card).to_be_visible()
        await expect(card.locator(".approval-tool")).to_have_text("how_many_jokes")
        await expect(card.locator(".approval-left")).to_have_text(re.compile(r"\d+ min \d+ s left"))
        await expect(page.locator(".run-waiting")).to_be_visible()
        await screenshot(page, "chat-approval-asked")
        if approve:
            await card.locator("button.approve").click()
        else:
            await card.locator(".approval-note").fill("Not now, please.")
            await card.locator("button.reject").click()

        await expect(page.locator(".run-completed")).to_be_visible()
        await expect(page.locator(".run")).to_have_count(2)
        continued = page.locator(".run").nth(1)
        await expect(continued.locator(".run-head")).to_contain_text(
            "continued after your decision"
        )
        tool = continued.locator(".tool-card")
        if approve:
            await expect(card).to_have_class(re.compile(r"\bapproved\b"))
            await expect(tool.locator(".tool-output")).to_have_text("3")
        else:
            await expect(card).to_have_class(re.compile(r"\brejected\b"))
            await expect(tool.locator(".tool-error")).to_have_text("Rejected: Not now, please.")
        await screenshot(page, f"chat-approval-{'approved' if approve else 'rejected'}")


async def test_a_message_sent_during_an_answer_interrupts_it(browser: Browser) -> None:
    engine = Engine.from_settings(offline_settings(offline_pace_s=0.03))
    async with live_server(engine) as live:
        page = await open_chat(browser, page_url(live))
        await send(page, JOKE)
        await expect(page.locator(".msg.assistant.streaming .text")).to_have_text(
            re.compile(r"\w+")
        )
        await expect(page.locator("#send")).to_be_enabled()  # Send stays on during an answer
        await page.select_option("#multitask", "interrupt")
        await send(page, "Tell me a joke about cats")
        await expect(page.locator(".msg.user .multitask-tag")).to_have_text(" · interrupts")
        await expect(page.locator(".run-cancelled")).to_have_text(
            "Interrupted by your next message."
        )
        await expect(page.locator(".run-completed")).to_be_visible(timeout=20_000)
        await expect(page.locator(".run")).to_have_count(2)
        await expect(page.locator(".run").nth(1).locator(".msg.assistant .text")).to_contain_text(
            "cats"
        )
        await screenshot(page, "chat-interrupted")


async def test_a_message_sent_during_an_answer_waits_its_turn(browser: Browser) -> None:
    engine = Engine.from_settings(offline_settings(offline_pace_s=0.03))
    async with live_server(engine) as live:
        page = await open_chat(browser, page_url(live))
        await send(page, JOKE)
        await expect(page.locator(".msg.assistant.streaming .text")).to_have_text(
            re.compile(r"\w+")
        )
        await page.select_option("#multitask", "enqueue")
        await send(page, "Tell me a joke about cats")
        waiting = page.locator(".msg.user .queued-tag")
        await expect(waiting).to_have_text(" · waiting: next")
        await screenshot(page, "chat-queued")
        await expect(page.locator(".run-completed")).to_have_count(2, timeout=20_000)
        await expect(waiting).to_have_count(0)  # answered: no longer waiting
        await expect(page.locator(".run").nth(0).locator(".run-completed")).to_be_visible()
        await expect(page.locator(".run").nth(1).locator(".msg.assistant .text")).to_contain_text(
            "cats"
        )
