"""Redis as production runs it: behind a password, over TLS (`rediss://`), and never leaking
the password into a log line or an event."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from agents_app.engine import Engine
from agents_app.logs import configure_logging
from agents_app.memory.store import ConversationStore, StoreUnavailable, open_store
from agents_app.protocol.events import RunEvent
from agents_app.runs.turn import Turn
from tests.conftest import offline_settings
from tests.redis_server import RedisServer
from tests.run_helpers import run_conversation_turn

# Characters that need quoting in a URL: the password must survive the round trip.
PASSWORD = "s3cret/p@ss:word#42"


@pytest.fixture(params=["password", "password+tls"])
def secured(request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    server = RedisServer(password=PASSWORD, tls=request.param.endswith("tls"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def store(secured: RedisServer, tmp_path: Path) -> AsyncIterator[ConversationStore]:
    opened = open_store(secured.url, ttl_s=60, lock_ttl_s=5, default_dir=tmp_path)
    yield opened
    await opened.aclose()


async def test_locks_flags_and_history_work(store: ConversationStore) -> None:
    assert await store.claim("c1", "run_a")
    assert not await store.claim("c1", "run_b")
    assert await store.request_cancel("c1") and await store.cancel_requested("c1", "run_a")
    await store.release("c1", "run_a")
    session = store.session("c1")
    await session.add_items([{"role": "user", "content": "hello"}])
    assert [item.get("content") for item in await session.get_items()] == ["hello"]


def variants(server: RedisServer) -> dict[str, str]:
    """URLs that must not get in: wrong or no password, and for TLS, no TLS or no trust."""
    url = server.url
    wrong = {
        "wrong password": url.replace(url.split("@")[0].split("//")[1], ":not-the-password"),
        "no password": url.replace(url.split("//")[1].split("@")[0] + "@", ""),
    }
    if server.tls_files is not None:
        wrong["plain text to the TLS port"] = url.replace("rediss://", "redis://").split("?")[0]
        wrong["an unknown CA"] = url.split("?")[0]
    return wrong


async def test_what_must_not_get_in_does_not(secured: RedisServer, tmp_path: Path) -> None:
    for why, url in variants(secured).items():
        store = open_store(url, ttl_s=60, lock_ttl_s=5, default_dir=tmp_path)
        try:
            with pytest.raises(StoreUnavailable):
                await store.claim("c1", "run_a")
        finally:
            await store.aclose()
        assert why  # each refusal is its own case


async def test_the_password_never_reaches_a_log_line_or_an_event(
    secured: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = offline_settings(session_store=secured.url, log_level="INFO")
    configure_logging(level="INFO", fmt="json", secrets=settings.secrets())
    engine = Engine.from_settings(settings)
    events: list[RunEvent] = []
    try:
        turn = Turn(conversation_id="c1", text="Tell me a joke", agent="joker")
        ok = await run_conversation_turn(
            turn, engine=engine, store=engine.store, emit=events.append
        )
        assert ok is not None and ok.type == "run.completed"
        secured.stop()  # Redis goes away: the next turn fails and says so in the log
        turn = Turn(conversation_id="c1", text="Another one", agent="joker")
        down = await run_conversation_turn(
            turn, engine=engine, store=engine.store, emit=events.append
        )
        assert down is not None and down.type == "run.failed"
    finally:
        await engine.aclose()
        configure_logging(level="WARNING")
    logged = capsys.readouterr().err
    records: list[dict[str, Any]] = [json.loads(line) for line in logged.splitlines()]
    assert any(r["event"] == "memory.unavailable" for r in records)  # the failure was logged
    wire = json.dumps([e.model_dump() for e in events])
    for spelling in (PASSWORD, "s3cret%2Fp%40ss%3Aword%2342"):
        assert spelling not in logged and spelling not in wire
