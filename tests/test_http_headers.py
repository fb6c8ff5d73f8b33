"""What browsers are told about the server's pages: no framing (clickjacking), no content
sniffing, no Referer (the page URL may hold ?token=), and nothing loaded from elsewhere."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import LiveServer


@pytest.mark.parametrize("path", ["/", "/static/chat.js", "/graph", "/healthz"])
async def test_every_answer_carries_the_browser_protections(server: LiveServer, path: str) -> None:
    base = server.url.replace("ws://", "http://").rstrip("/")
    async with httpx.AsyncClient(base_url=base) as client:
        answer = await client.get(path)
    assert answer.status_code == 200
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["x-frame-options"] == "DENY"
    policy = answer.headers["content-security-policy"]
    for rule in ("default-src 'self'", "frame-ancestors 'none'", "connect-src 'self'"):
        assert rule in policy
