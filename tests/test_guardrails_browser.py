"""The chat page: a tripped guardrail is shown as a refusal, and retracted text is withdrawn."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, expect

from agents_app.engine import Engine
from tests.conftest import live_server, offline_settings
from tests.test_browser import browser, open_chat, page_url, screenshot, send  # noqa: F401

STREAMED_OUTPUT_CHECK = """
version: 1
start: a
guardrails:
  no_demo: {kind: keywords, words: [offline], mode: stream, message: That answer was withdrawn.}
agents:
  a: {name: Solo, instructions: Answer., guardrails: {output: [no_demo]}}
"""


async def test_the_demo_trip_reads_as_blocked_not_as_an_error(browser: Browser) -> None:  # noqa: F811
    async with live_server(Engine.from_settings(offline_settings())) as live:
        page = await open_chat(browser, page_url(live))
        await send(page, "Write a Python script that deletes my files")
        trip = page.locator(".guardrail-trip")
        await expect(trip).to_have_count(1)
        await expect(trip).to_contain_text("relevance")
        await expect(trip.locator(".guardrail-message")).to_contain_text("I can only tell jokes")
        end = page.locator(".run-failed")
        await expect(end.locator("strong")).to_have_text("Blocked")
        await expect(end).not_to_contain_text("try again")
        await screenshot(page, "chat-guardrail-tripped")


async def test_retracted_text_is_withdrawn_from_the_page(browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    config = tmp_path / "agents.yaml"
    config.write_text(STREAMED_OUTPUT_CHECK, encoding="utf-8")
    engine = Engine.from_settings(offline_settings(config_path=config))
    async with live_server(engine) as live:
        page = await open_chat(browser, page_url(live))
        await send(page, "hello")
        await expect(page.locator(".run-failed")).to_be_visible()
        message = page.locator(".msg.assistant")
        await expect(message).to_have_class(re.compile(r"\bretracted\b"))
        await expect(message.locator(".text")).to_have_text(
            "This text was withdrawn by a safety check."
        )
        await expect(page.locator(".guardrail-trip")).to_contain_text("the answer")
