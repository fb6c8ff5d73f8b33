"""Access and abuse: a shared token at connect, a message rate, connections per address."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import InvalidStatus

from agents_app.engine import Engine
from agents_app.gateway.serve import load_handler
from tests.conftest import live_server, offline_settings, recv_json

TOKEN = "s3cr3t-shared-token"


async def test_token_is_required_when_configured() -> None:
    engine = Engine.from_settings(offline_settings(auth_token=TOKEN))
    async with live_server(engine) as live:
        for query in ("", "?token=wrong", f"?token={TOKEN[:-1]}"):
            with pytest.raises(InvalidStatus) as refused:
                async with live.connect(query):
                    pass
            assert refused.value.response.status_code == 403
            assert TOKEN not in refused.value.response.body.decode(errors="replace")
        async with live.connect(f"?token={TOKEN}") as ws:
            assert (await recv_json(ws))["type"] == "session.ready"
        from websockets.asyncio.client import connect

        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with connect(live.url, additional_headers=headers) as ws:
            assert (await recv_json(ws))["type"] == "session.ready"


def test_function_connect_checks_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTS_AUTH_TOKEN", TOKEN)
    handler = load_handler()

    def connect(headers: dict[str, str], query: dict[str, str]) -> int:
        event = {
            "requestContext": {"connectionId": "c1", "eventType": "CONNECT"},
            "headers": headers,
            "queryStringParameters": query,
        }
        return int(handler(event, None)["statusCode"])

    assert connect({}, {}) == 403
    assert connect({"Authorization": "Bearer nope"}, {}) == 403
    assert connect({"Authorization": f"Bearer {TOKEN}"}, {}) == 200
    assert connect({}, {"token": TOKEN}) == 200


async def test_message_rate_limit() -> None:
    engine = Engine.from_settings(offline_settings(rate_limit_per_minute=6, rate_limit_burst=3))
    async with live_server(engine) as live, live.connect() as ws:
        await recv_json(ws)
        for _ in range(5):
            await ws.send('{"type":"ping"}')
        answers = [await recv_json(ws) for _ in range(5)]
    assert [a["type"] for a in answers] == ["pong"] * 3 + ["error"] * 2
    assert all(a["code"] == "rate_limited" for a in answers[3:])


async def test_connections_per_client_address() -> None:
    engine = Engine.from_settings(offline_settings(max_connections_per_client=2))
    async with live_server(engine) as live:
        async with live.connect() as first, live.connect() as second:
            await recv_json(first)
            await recv_json(second)
            with pytest.raises(InvalidStatus):
                async with live.connect():
                    pass
        await asyncio.sleep(0.1)  # both closed: the address may connect again
        async with live.connect() as third:
            assert (await recv_json(third))["type"] == "session.ready"
            await third.send(json.dumps({"type": "ping"}))
            assert await recv_json(third) == {"type": "pong"}


async def test_conversations_per_connection() -> None:
    engine = Engine.from_settings(offline_settings(max_conversations_per_connection=2))
    async with live_server(engine) as live, live.connect() as ws:
        await recv_json(ws)
        answers = []
        for conversation in ("a", "b", "a", "c"):
            message = {"type": "user.message", "text": "cats", "agent": "joker"}
            await ws.send(json.dumps(message | {"conversation_id": conversation}))
            while True:
                event = await recv_json(ws)
                if event["type"] in {"run.completed", "error"}:
                    answers.append(event.get("code", event["type"]))
                    break
    assert answers == ["run.completed", "run.completed", "run.completed", "rate_limited"]
