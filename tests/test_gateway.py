"""The deployed code path, locally: WebSocket → emulated API Gateway → function.handler →
gRPC Connection Service → the same socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agents_app.cloud.runtime import get_runtime, reset_runtime
from agents_app.gateway.emulator import GatewayOptions
from agents_app.gateway.serve import RunningGateway, load_handler, running_gateway
from agents_app.testing import Reply, ScriptedOpenAIServer, Text
from tests.conftest import (
    JOKE_RUN_TYPES,
    JOKES_SEED,
    assert_whole_run,
    is_terminal,
    recv_json,
    recv_until,
)

JOKE = "Tell me a joke about programming"


@pytest.fixture
def function_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    env = {
        "AGENTS_DATA_DIR": str(tmp_path),
        "AGENTS_PROVIDER": "offline",
        "AGENTS_OFFLINE_PACE": "0.01",
        "AGENTS_JOKES_SEED": str(JOKES_SEED),
        "LOG_LEVEL": "WARNING",
        "AGENTS_DEADLINE_MARGIN": "1.0",
    }
    for name in ("API_KEY", "FOLDER_ID", "BASE_URL", "MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # running_gateway points the function at its Connection Service through these.
    monkeypatch.setenv("AGENTS_CONNECTIONS_ENDPOINT", "unset")
    monkeypatch.setenv("AGENTS_CONNECTIONS_INSECURE", "true")
    reset_runtime()
    return env


@pytest.fixture
async def gateway(function_env: dict[str, str]) -> AsyncIterator[RunningGateway]:
    async with running_gateway(load_handler(), port=0) as running:
        yield running
    reset_runtime()


def connect(gateway: RunningGateway) -> Any:
    from websockets.asyncio.client import connect as ws_connect

    return ws_connect(gateway.url, open_timeout=5, max_size=None)


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events if e["type"] != "text.delta"]


async def test_joke_run_matches_the_local_server(gateway: RunningGateway) -> None:
    async with connect(gateway) as ws:
        await ws.send(JOKE)
        events = await recv_until(ws, is_terminal)
    assert kinds(events) == ["session.ready", *JOKE_RUN_TYPES]
    run = events[1:]
    assert [e["seq"] for e in run] == list(range(1, len(run) + 1))
    text = "".join(e["delta"] for e in run if e["type"] == "text.delta")
    assert text == run[-1]["final_output"] and "programming" in text
    assert run[-1]["usage"]["requests"] == 4  # triage, joker twice, and the relevance judge

    # The same run through `agents-app serve` gives the same events and text.
    from agents_app.engine import Engine
    from tests.conftest import live_server, offline_settings

    engine = Engine.from_settings(offline_settings())
    async with live_server(engine) as live, live.connect() as ws:
        await ws.send(JOKE)
        local = await recv_until(ws, is_terminal)
    assert kinds(local) == kinds(events)
    assert local[-1]["final_output"] == text


async def test_json_and_binary_input(gateway: RunningGateway) -> None:
    async with connect(gateway) as ws:
        await ws.send(json.dumps({"type": "user.message", "text": "cats", "agent": "joker"}))
        events = await recv_until(ws, is_terminal)
        assert events[1]["type"] == "run.started" and events[1]["agent"] == "joker"
        await ws.send("Расскажи анекдот про котов".encode())  # a binary frame, UTF-8
        events = await recv_until(ws, is_terminal)
        assert events[-1]["type"] == "run.completed"
        assert "кот" in events[-1]["final_output"]
        await ws.send(b"\xff\xfe")
        error = await recv_json(ws)
        assert (error["type"], error["code"]) == ("error", "bad_request")
        await ws.send('{"type":"ping"}')
        assert await recv_json(ws) == {"type": "pong"}


async def test_two_connections_do_not_interfere(gateway: RunningGateway) -> None:
    async def chat(text: str) -> list[dict[str, Any]]:
        async with connect(gateway) as ws:
            await ws.send(text)
            return await recv_until(ws, is_terminal)

    jokes, facts = await asyncio.gather(chat(JOKE), chat("What is the capital of France?"))
    for events, last_agent in ((jokes, "joker"), (facts, "researcher")):
        conversation = events[0]["conversation_id"]
        assert all(e.get("conversation_id", conversation) == conversation for e in events)
        assert events[-1]["type"] == "run.completed" and events[-1]["agent"] == last_agent
    assert jokes[0]["conversation_id"] != facts[0]["conversation_id"]


async def test_busy_and_cancel_from_another_invocation(gateway: RunningGateway) -> None:
    async with connect(gateway) as ws:
        await ws.send(JOKE)
        await recv_until(ws, lambda e: e["type"] == "text.delta")
        await ws.send("another")  # a second invocation, while the first still streams
        busy = await recv_until(ws, lambda e: e["type"] == "error")
        assert busy[-1]["code"] == "busy"
        await ws.send('{"type":"run.cancel"}')  # a third invocation stops the first
        events = await recv_until(ws, is_terminal)
    assert events[-1]["type"] == "run.cancelled"
    assert events[-1]["reason"] == "cancelled by client"


async def wait_until_idle(timeout_s: float = 5.0) -> None:
    runtime = get_runtime()
    async with asyncio.timeout(timeout_s):
        # The runs live on the function runtime's own loop, in another thread: poll.
        while runtime.runs.active:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def join(gateway: RunningGateway, run_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
    """A new connection (so a new invocation) joins the run."""
    async with connect(gateway) as ws:
        await ws.send(json.dumps({"type": "run.join", "run_id": run_id, "after_seq": after_seq}))
        events = await recv_until(ws, lambda e: is_terminal(e) or e["type"] == "error")
    return [e for e in events if e["type"] != "session.ready"]


async def test_disconnect_mid_run_lets_the_run_finish_for_a_later_join(
    gateway: RunningGateway,
) -> None:
    async with connect(gateway) as ws:
        await ws.send(JOKE)
        seen = await recv_until(ws, lambda e: e["type"] == "text.delta")
        assert get_runtime().runs.active
    await wait_until_idle()  # DISCONNECT did not stop it: it ran to its end
    seen = [e for e in seen if "seq" in e]
    rest = await join(gateway, seen[0]["run_id"], after_seq=seen[-1]["seq"])
    assert rest[-1]["type"] == "run.completed"
    assert_whole_run(seen + rest)


async def test_disconnect_mid_run_stops_the_run_under_on_disconnect_cancel(
    gateway: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTS_ON_DISCONNECT", "cancel")
    async with connect(gateway) as ws:
        await ws.send(JOKE)
        seen = await recv_until(ws, lambda e: e["type"] == "text.delta")
    await wait_until_idle()
    rest = await join(gateway, seen[1]["run_id"])
    assert rest[-1]["type"] == "run.cancelled" and rest[-1]["reason"] == "client disconnected"


async def test_vanished_connection_stops_sending_not_the_run(gateway: RunningGateway) -> None:
    async with connect(gateway) as ws:
        await ws.send(JOKE)
        first = await recv_until(ws, lambda e: e["type"] == "text.delta")
        connection_id = first[-1]["conversation_id"]
        # The gateway forgets the socket: the next Send answers NOT_FOUND.
        gateway.registry.peers.pop(connection_id)
        attempts_at_loss = gateway.registry.attempts[connection_id]
        await wait_until_idle()
        # One Send learns the connection is gone; none is tried after it (no retry storm).
        assert gateway.registry.attempts[connection_id] - attempts_at_loss <= 1
    seen = [e for e in first if "seq" in e]
    rest = await join(gateway, seen[0]["run_id"], after_seq=seen[-1]["seq"])
    assert rest[-1]["type"] == "run.completed"  # the run went on without its client
    assert_whole_run(seen + rest)


async def test_join_errors_are_typed(gateway: RunningGateway) -> None:
    assert (await join(gateway, "run_unknown"))[-1]["code"] == "not_found"


async def test_deadline_ends_the_run_with_timeout(
    function_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTS_OFFLINE_PACE", "0.2")  # a long answer…
    options = GatewayOptions(function_timeout_s=2.5)  # …and a short function timeout
    async with (
        running_gateway(load_handler(), port=0, options=options) as running,
        connect(running) as ws,
    ):
        await ws.send(JOKE)
        events = await recv_until(ws, is_terminal, wait_s=10)
    reset_runtime()
    failed = events[-1]
    assert failed["type"] == "run.failed" and failed["code"] == "timeout"
    assert failed["retryable"] is True


async def test_slow_connection_service_still_streams_fast(
    function_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    words = [f"w{i} " for i in range(400)]
    with ScriptedOpenAIServer([Reply([Text("".join(words), chunks=words)])]) as srv:
        monkeypatch.setenv("AGENTS_PROVIDER", "openai")
        monkeypatch.setenv("API_KEY", "sk-test")
        monkeypatch.setenv("BASE_URL", srv.base_url)
        async with running_gateway(load_handler(), port=0, send_delay_s=0.02) as running:
            async with connect(running) as ws:
                await ws.send(json.dumps({"type": "user.message", "text": "go", "agent": "joker"}))
                loop = asyncio.get_running_loop()
                started = loop.time()
                events = await recv_until(ws, is_terminal, wait_s=20)
                elapsed = loop.time() - started
            sends = sum(running.registry.sends.values())
    reset_runtime()
    text = "".join(e["delta"] for e in events if e["type"] == "text.delta")
    assert text == "".join(words)
    # 400 blocking Sends at 20 ms would take 8 s; coalescing through gRPC needs a few dozen.
    assert sends < 60
    assert elapsed < 4.0
