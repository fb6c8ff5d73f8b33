"""Cross-site use from a browser: only the server's own origin and the listed ones may connect.

The browser itself is in tests/test_browser_origin.py; here the handshakes are made by hand,
which also lets a test forge the `Host` a DNS-rebinding page would send.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest
from pydantic import ValidationError
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from agents_app.access import OriginPolicy
from agents_app.engine import Engine
from agents_app.settings import Settings
from tests.conftest import LiveServer, live_server, offline_settings, recv_json

EVIL = "http://evil.example"


def headers(origin: str | None, host: str) -> dict[str, str]:
    return {"host": host} | ({} if origin is None else {"origin": origin})


@pytest.mark.parametrize(
    ("origin", "host", "listed", "bind", "allowed"),
    [
        (None, "127.0.0.1:8080", [], "127.0.0.1", True),  # wscat, the CLI, servers
        ("http://127.0.0.1:8080", "127.0.0.1:8080", [], "127.0.0.1", True),  # the chat page
        ("http://localhost:8080", "localhost:8080", [], "127.0.0.1", True),
        ("http://[::1]:8080", "[::1]:8080", [], "::1", True),
        ("HTTP://LOCALHOST:8080", "localhost:8080", [], "127.0.0.1", True),
        ("http://127.0.0.1:9999", "127.0.0.1:8080", [], "127.0.0.1", False),  # another port
        ("https://127.0.0.1:8080", "127.0.0.1:8080", [], "127.0.0.1", True),
        (EVIL, "127.0.0.1:8080", [], "127.0.0.1", False),
        ("null", "127.0.0.1:8080", [], "127.0.0.1", False),  # sandboxed frames, file://
        ("", "127.0.0.1:8080", [], "127.0.0.1", False),
        # DNS rebinding: evil.example resolves to 127.0.0.1, so Host and Origin agree.
        ("http://evil.example:8080", "evil.example:8080", [], "127.0.0.1", False),
        # Listening on every address: reached by its name, the server's own origin is that.
        ("http://box.lan:8080", "box.lan:8080", [], "0.0.0.0", True),
        ("https://chat.example.com", "chat.example.com", [], "0.0.0.0", True),
        ("http://box.lan:8080", "other.lan:8080", [], "0.0.0.0", False),
        # Listed origins, spelled with or without the default port.
        (
            "https://chat.example.com",
            "127.0.0.1:8080",
            ["https://chat.example.com"],
            "127.0.0.1",
            True,
        ),
        (
            "https://chat.example.com",
            "127.0.0.1:8080",
            ["https://chat.example.com:443/"],
            "127.0.0.1",
            True,
        ),
        (
            "http://chat.example.com",
            "127.0.0.1:8080",
            ["https://chat.example.com"],
            "127.0.0.1",
            False,
        ),
        (EVIL, "127.0.0.1:8080", ["*"], "127.0.0.1", True),
    ],
)
def test_origin_policy(
    origin: str | None, host: str, listed: list[str], bind: str, allowed: bool
) -> None:
    policy = OriginPolicy.build(listed, bind_host=bind)
    assert policy.allows(headers(origin, host)) is allowed


def test_allowed_origins_setting_is_a_comma_list_and_rejects_non_origins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTS_ALLOWED_ORIGINS", " https://a.example , http://b.example:8000")
    assert Settings().allowed_origins == ["https://a.example", "http://b.example:8000"]
    monkeypatch.setenv("AGENTS_ALLOWED_ORIGINS", "a.example/chat")
    with pytest.raises(ValidationError, match=re.escape("not a web origin: a.example/chat")):
        Settings()


def http_url(live: LiveServer, path: str = "") -> str:
    return live.url.replace("ws://", "http://", 1) + path


async def test_websocket_refuses_other_origins_before_accepting(server: LiveServer) -> None:
    own = http_url(server).rstrip("/")
    for origin in (EVIL, "null", own.replace(own.rsplit(":", 1)[1], "1")):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(server.url, origin=origin, open_timeout=5):
                pass
        assert refused.value.response.status_code == 403
    for origin in (None, own):
        async with connect(server.url, origin=origin, open_timeout=5) as ws:
            assert (await recv_json(ws))["type"] == "session.ready"


async def test_listed_origins_may_connect() -> None:
    engine = Engine.from_settings(offline_settings(allowed_origins=["https://chat.example.com"]))
    async with live_server(engine) as live:
        async with connect(live.url, origin="https://chat.example.com", open_timeout=5) as ws:
            assert (await recv_json(ws))["type"] == "session.ready"
        with pytest.raises(InvalidStatus):
            async with connect(live.url, origin=EVIL, open_timeout=5):
                pass


def run_input(text: str) -> dict[str, object]:
    return {
        "threadId": "t",
        "runId": "r",
        "messages": [{"id": "u1", "role": "user", "content": text}],
        "state": {},
        "tools": [],
        "context": [],
        "forwardedProps": {},
    }


async def test_agui_post_refuses_other_origins_and_rebinding_hosts(server: LiveServer) -> None:
    own = http_url(server).rstrip("/")
    port = own.rsplit(":", 1)[1]
    body = json.dumps(run_input("Tell me a joke"))
    refused = [
        {"origin": EVIL},
        # A "simple" cross-site POST (no preflight) is refused, not just unreadable.
        {"origin": EVIL, "content-type": "text/plain"},
        {"origin": f"http://rebind.example:{port}", "host": f"rebind.example:{port}"},
    ]
    async with httpx.AsyncClient(timeout=10) as client:
        for extra in refused:
            answer = await client.post(http_url(server, "ag-ui"), content=body, headers=extra)
            assert answer.status_code == 403, extra
            assert answer.json()["type"] == "error"
        for extra in ({}, {"origin": own}):
            answer = await client.post(
                http_url(server, "ag-ui"),
                content=body,
                headers=extra | {"accept": "text/event-stream"},
            )
            assert answer.status_code == 200 and "RUN_FINISHED" in answer.text


async def test_listed_origins_get_cors_for_agui_others_do_not() -> None:
    listed = "https://chat.example.com"
    engine = Engine.from_settings(offline_settings(allowed_origins=[listed]))
    preflight = {"access-control-request-method": "POST"}
    preflight["access-control-request-headers"] = "content-type,authorization"
    async with live_server(engine) as live, httpx.AsyncClient(timeout=10) as client:
        url = http_url(live, "ag-ui")
        ok = await client.options(url, headers=preflight | {"origin": listed})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == listed
        other = await client.options(url, headers=preflight | {"origin": EVIL})
        assert "access-control-allow-origin" not in other.headers
        answer = await client.post(
            url, content=json.dumps(run_input("hi")), headers={"origin": listed}
        )
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == listed
