"""Cross-site WebSocket hijacking, tried in a real browser (Debian's Chromium).

A page served from another origin (another port on 127.0.0.1 is another origin) opens the
service's WebSocket the way any web site the user visits could. The server must refuse it,
while the chat page on the server's own origin keeps working.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

from playwright.async_api import Browser, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from agents_app.engine import Engine
from agents_app.server.in_loop import serving
from tests.conftest import live_server, offline_settings
from tests.test_browser import JOKE, browser, open_chat, page_url, send

__all__ = ["browser"]  # the fixture, shared with the chat page's own browser tests

# What a hostile page does: open the socket named in its query and report what came of it.
PROBE = """<!doctype html><meta charset="utf-8"><title>elsewhere</title>
<script>
window.outcome = new Promise((resolve) => {
  const ws = new WebSocket(new URLSearchParams(location.search).get("target"));
  ws.onmessage = (e) => { resolve("message:" + JSON.parse(e.data).type); ws.close(); };
  ws.onclose = (e) => resolve("closed:" + e.code);
});
</script>"""


@asynccontextmanager
async def other_site() -> AsyncIterator[str]:
    """A web site on an origin of its own (another port), serving the probe page."""

    async def page(_: Request) -> HTMLResponse:
        return HTMLResponse(PROBE)

    app = Starlette(routes=[Route("/", page)])
    async with serving(app, lifespan="off") as served:
        yield served.url("http").rstrip("/")


async def probe(browser: Browser, site: str, target: str) -> str:
    page = await browser.new_page()
    await page.goto(f"{site}/?{urlencode({'target': target})}")
    outcome = await page.evaluate("window.outcome")
    assert isinstance(outcome, str)
    return outcome


async def test_a_page_from_another_origin_is_refused(browser: Browser) -> None:
    engine = Engine.from_settings(offline_settings())
    async with live_server(engine) as live, other_site() as elsewhere:
        # 1006: the handshake failed (the server answered 403); no event ever arrived.
        assert await probe(browser, elsewhere, live.url) == "closed:1006"

        # The chat page on the server's own origin connects and runs as before.
        chat = await open_chat(browser, page_url(live))
        await send(chat, JOKE)
        await expect(chat.locator(".run-completed")).to_be_visible()


async def test_a_listed_origin_may_use_the_socket(browser: Browser) -> None:
    # The same page once its origin is listed: what refused it above was the origin check.
    async with other_site() as elsewhere:
        engine = Engine.from_settings(offline_settings(allowed_origins=[elsewhere]))
        async with live_server(engine) as live:
            assert await probe(browser, elsewhere, live.url) == "message:session.ready"
