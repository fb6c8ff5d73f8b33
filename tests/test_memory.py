"""Conversation stores (SQLite, Redis), their run logs, and runs inside stored conversations."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agents_app.engine import Engine
from agents_app.memory.store import ConversationStore, Lease, RunRecord, SeqTaken, open_store
from agents_app.protocol.events import RunEvent
from agents_app.runs.conversation import MEMORY_DOWN
from agents_app.runs.turn import Turn
from agents_app.testing import Reply, ScriptedOpenAIServer, Text, ToolCall
from tests.conftest import offline_settings
from tests.redis_server import RedisServer
from tests.run_helpers import Collector, run_conversation_turn


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/memory.db"
    return str(request.getfixturevalue("redis_server").url)


@pytest.fixture
async def store(store_url: str, tmp_path: Path) -> AsyncIterator[ConversationStore]:
    opened = open_store(store_url, ttl_s=3600, lock_ttl_s=0.5, default_dir=tmp_path)
    yield opened
    await opened.aclose()


async def test_one_run_per_conversation_with_an_expiring_lock(store: ConversationStore) -> None:
    assert await store.claim("c1", "run_a")
    assert not await store.claim("c1", "run_b")
    assert await store.claim("c2", "run_b")  # other conversations are independent
    await store.release("c1", "run_b")  # not the holder: no effect
    assert not await store.claim("c1", "run_c")
    await store.release("c1", "run_a")
    assert await store.claim("c1", "run_c")
    await asyncio.sleep(0.6)  # the lock's TTL: a crashed holder does not block forever
    assert await store.claim("c1", "run_d")


async def test_waiting_messages_are_never_overtaken(store: ConversationStore) -> None:
    assert await store.claim("c", "run_a")
    assert await store.enqueue("c", "run_b", "B", cap=2, front=False) == 1
    assert await store.enqueue("c", "run_c", "C", cap=2, front=False) == 2
    assert await store.enqueue("c", "run_x", "X", cap=2, front=False) is None  # full
    assert await store.queued_in("run_c") == "c" and await store.queued_in("run_x") is None
    await store.release("c", "run_a")
    # The lock is free, but messages wait: only the first of them may take it.
    assert not await store.claim("c", "run_new")
    assert not await store.claim("c", "run_c")
    assert await store.claim("c", "run_b")
    assert await store.queue("c") == [("run_c", "C")]  # taken off as it claimed
    assert await store.queued_in("run_b") is None
    await store.release("c", "run_b")
    # A superseding message goes first.
    assert await store.enqueue("c", "run_i", "I", cap=None, front=True) == 1
    assert [run for run, _ in await store.queue("c")] == ["run_i", "run_c"]
    assert await store.dequeue("c", "run_c")
    assert not await store.dequeue("c", "run_c")  # taken off once
    assert await store.claim("c", "run_i")
    await store.release("c", "run_i")
    assert await store.claim("c", "run_new")  # nothing waits any more


async def test_cancel_flag_reaches_the_holder_only(store: ConversationStore) -> None:
    assert not await store.request_cancel("idle")
    assert await store.claim("c1", "run_a")
    assert await store.request_cancel("c1")
    assert await store.cancel_requested("c1", "run_a")
    assert not await store.cancel_requested("c1", "run_other")
    await store.release("c1", "run_a")
    assert await store.claim("c1", "run_b")
    assert not await store.cancel_requested("c1", "run_b")  # a new run starts clean
    # The flag carries why (run.cancelled.reason): a newer message superseded the run.
    assert await store.request_cancel("c1", "superseded")
    assert await store.cancel_requested("c1", "run_b") == "superseded"
    assert await store.cancel_requested("c1", "run_a") is None


async def test_run_log_by_seq_once_each(store: ConversationStore) -> None:
    await store.append_events("run_a", "c1", [(1, '{"n":1}'), (2, '{"n":2}')])
    await store.append_events("run_a", "c1", [(3, '{"n":3}')])
    with pytest.raises(SeqTaken):
        await store.append_events("run_a", "c1", [(3, '{"n":"again"}')])
    assert await store.read_events("run_a", 1) == [(2, '{"n":2}'), (3, '{"n":3}')]
    assert await store.read_events("run_a", 3, wait_s=0.1) == []
    assert await store.find_run(run_id="run_a") == RunRecord("run_a", "c1", running=False)
    assert await store.find_run(run_id="run_b") is None


async def test_a_waiting_reader_sees_what_is_appended(store: ConversationStore) -> None:
    reader = asyncio.ensure_future(store.read_events("run_a", 0, wait_s=1.0))
    await asyncio.sleep(0.1)
    await store.append_events("run_a", "c1", [(1, "{}")])
    assert await asyncio.wait_for(reader, 2) == [(1, "{}")]


async def test_find_run_by_conversation_prefers_the_running_one(store: ConversationStore) -> None:
    await store.append_events("run_old", "c1", [(1, "{}")])
    assert await store.find_run(conversation_id="c1") == RunRecord("run_old", "c1", False)
    assert await store.claim("c1", "run_new")
    assert await store.find_run(conversation_id="c1") == RunRecord("run_new", "c1", True)
    await store.append_events("run_new", "c1", [(1, "{}")])
    assert await store.find_run(run_id="run_new") == RunRecord("run_new", "c1", True)
    await store.release("c1", "run_new")
    assert await store.find_run(conversation_id="c1") == RunRecord("run_new", "c1", False)
    assert await store.find_run(conversation_id="c2") is None


async def test_run_log_expires_after_its_ttl(tmp_path: Path, store_url: str) -> None:
    store = open_store(store_url, ttl_s=60, lock_ttl_s=5, default_dir=tmp_path, log_ttl_s=0.3)
    await store.append_events("run_a", "c1", [(1, "{}")])
    assert await store.find_run(run_id="run_a") is not None
    await asyncio.sleep(0.5)
    assert await store.find_run(run_id="run_a") is None
    assert await store.read_events("run_a", 0) == []
    await store.aclose()


async def test_a_connection_record_lasts_its_ttl(store: ConversationStore) -> None:
    assert await store.connection("conn1") is None
    await store.save_connection("conn1", '{"batch":true}', ttl_s=0.3)
    await store.save_connection("conn2", "{}", ttl_s=60)
    assert await store.connection("conn1") == '{"batch":true}'
    await asyncio.sleep(0.5)
    assert await store.connection("conn1") is None
    assert await store.connection("conn2") == "{}"


async def test_the_claim_reads_the_last_agent_the_release_wrote(store: ConversationStore) -> None:
    first = await store.claim("c1", "run_a")
    assert first is not None and first.last_agent is None
    assert not await store.release("c1", "run_a", last_agent="joker")  # nothing waits
    second = await store.claim("c1", "run_b")
    assert second is not None and second.last_agent == "joker"
    await store.enqueue("c1", "run_c", "C", cap=None, front=False)
    assert await store.release("c1", "run_b")  # without an agent: the last one stays; C waits
    third = await store.claim("c1", "run_c")
    assert third is not None and third.last_agent == "joker"
    other = await store.claim("c2", "run_d")
    assert other is not None and other.last_agent is None  # per conversation


async def test_sqlite_counts_the_history_the_way_the_session_reads_it(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/m.db", ttl_s=60, lock_ttl_s=5, default_dir=tmp_path)
    assert await store.claim("c1", "run_a") == Lease(last_agent=None, history_items=0)  # no table
    await store.release("c1", "run_a")
    session = store.session("c1")
    await session.add_items([{"role": "user", "content": "hi"}, {"role": "user", "content": "?"}])
    await store.session("c2").add_items([{"role": "user", "content": "elsewhere"}])
    with sqlite3.connect(tmp_path / "m.db") as db:  # a row the session cannot read
        db.execute(
            "INSERT INTO agent_messages (session_id, message_data) VALUES ('c1', 'not json')"
        )
    lease = await store.claim("c1", "run_b")
    assert lease is not None and lease.history_items == len(await session.get_items()) == 2
    await store.release_session(session)
    await store.aclose()


def remote_engine(srv: ScriptedOpenAIServer, **overrides: Any) -> Engine:
    return Engine.from_settings(
        offline_settings(provider="openai", api_key="sk-test", base_url=srv.base_url, **overrides)
    )


async def test_history_survives_across_store_instances(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/memory.db"
    with ScriptedOpenAIServer() as srv:
        srv.enqueue(Reply([Text("Hello Ada.")]), Reply([Text("You are Ada.")]))
        engine = remote_engine(srv)
        for text in ("My name is Ada", "What is my name?"):
            # A new store each turn: what a new function invocation sees.
            store = open_store(url, ttl_s=60, lock_ttl_s=5, default_dir=tmp_path)
            turn = Turn(conversation_id="conv-1", text=text, agent="joker")
            terminal = await run_conversation_turn(
                turn, engine=engine, store=store, emit=lambda e: None
            )
            assert terminal is not None and terminal.type == "run.completed"
        second_input = json.dumps(srv.requests[1].body["input"])
    assert "My name is Ada" in second_input and "Hello Ada." in second_input


async def test_busy_when_another_run_holds_the_conversation(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/m.db", ttl_s=60, lock_ttl_s=5, default_dir=tmp_path)
    engine = Engine.from_settings(offline_settings())
    assert await store.claim("conv", "run_elsewhere")
    events: list[RunEvent] = []
    turn = Turn(conversation_id="conv", text="hi")
    assert await run_conversation_turn(turn, engine=engine, store=store, emit=events.append) is None
    assert events == []


async def test_cancel_from_another_invocation_stops_the_run_within_a_second(
    store: ConversationStore, tmp_path: Path
) -> None:
    engine = Engine.from_settings(offline_settings(offline_pace_s=0.05))
    collect = Collector()
    events = collect.events
    turn = Turn(conversation_id="conv", text="Tell me a joke about cats")
    run = asyncio.create_task(run_conversation_turn(turn, engine=engine, store=store, emit=collect))
    await asyncio.wait_for(collect.streaming.wait(), 10)
    assert await store.request_cancel("conv")  # e.g. from another function instance
    asked = asyncio.get_running_loop().time()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(run, 2)
    assert asyncio.get_running_loop().time() - asked < 1.0
    assert events[-1].type == "run.cancelled"
    assert [e.type for e in events].count("run.cancelled") == 1
    assert await store.claim("conv", "next")  # the lock was released


async def test_a_run_longer_than_its_lock_ttl_keeps_its_conversation(
    store: ConversationStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agents_app.runs.conversation as conversation

    # The lock lasts 0.5 s here; polled every 0.02 s, the watcher refreshes it every 0.16 s.
    monkeypatch.setattr(conversation, "CANCEL_POLL_S", 0.02)
    engine = Engine.from_settings(offline_settings(offline_pace_s=0.05))
    collect = Collector()
    turn = Turn(conversation_id="conv", text="Tell me a joke about cats")
    run = asyncio.create_task(run_conversation_turn(turn, engine=engine, store=store, emit=collect))
    await asyncio.wait_for(collect.streaming.wait(), 10)
    await asyncio.sleep(0.8)
    assert not run.done()
    assert await store.claim("conv", "intruder") is None
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run


async def test_redis_going_away_mid_run_fails_clearly_and_recovers(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    store = open_store(redis_server.url, ttl_s=60, lock_ttl_s=5, default_dir=tmp_path)
    engine = Engine.from_settings(offline_settings(offline_pace_s=0.02))
    collect = Collector()
    events = collect.events
    turn = Turn(conversation_id="conv", text="Tell me a joke about cats")
    run = asyncio.create_task(run_conversation_turn(turn, engine=engine, store=store, emit=collect))
    await asyncio.wait_for(collect.streaming.wait(), 10)
    redis_server.stop()
    terminal = await asyncio.wait_for(run, 15)
    assert terminal is not None and terminal.type == "run.failed"
    assert terminal.code == "internal" and terminal.retryable
    assert terminal.message == MEMORY_DOWN
    assert [e.type for e in events].count("run.failed") == 1

    # While it is down, a new turn fails at once with the same clear message.
    down: list[RunEvent] = []
    again = Turn(conversation_id="conv", text="hi")
    terminal = await run_conversation_turn(again, engine=engine, store=store, emit=down.append)
    assert (
        terminal is not None and terminal.type == "run.failed" and terminal.message == MEMORY_DOWN
    )
    assert [e.type for e in down] == ["run.started", "run.failed"]

    redis_server.start()
    back = Turn(conversation_id="conv", text="Tell me a joke about dogs", agent="joker")
    terminal = await run_conversation_turn(back, engine=engine, store=store, emit=lambda e: None)
    assert terminal is not None and terminal.type == "run.completed"
    await store.aclose()


@pytest.mark.parametrize(("resume", "second_agent"), [("last_agent", "joker"), ("start", "triage")])
async def test_resume_follows_the_yaml_setting(
    tmp_path: Path, resume: str, second_agent: str
) -> None:
    import shutil

    from agents_app.settings import DEFAULT_CONFIG

    config_dir = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG.parent, config_dir)
    agents_yaml = config_dir / "agents.yaml"
    agents_yaml.write_text(
        agents_yaml.read_text().replace("start: triage\n", f"start: triage\nresume: {resume}\n")
    )
    engine = Engine.from_settings(offline_settings(config_path=agents_yaml))
    store = engine.store
    first: list[RunEvent] = []
    turn = Turn(conversation_id="c", text="Tell me a joke about cats")
    await run_conversation_turn(turn, engine=engine, store=store, emit=first.append)
    assert first[-1].type == "run.completed" and first[-1].agent == "joker"
    second: list[RunEvent] = []
    turn = Turn(conversation_id="c", text="one more please")
    await run_conversation_turn(turn, engine=engine, store=store, emit=second.append)
    started = second[0]
    assert started.type == "run.started" and started.agent == second_agent
    await engine.aclose()


def test_history_budget_keeps_the_newest_items_from_a_user_turn() -> None:
    from agents_app.memory.history import bounded_history

    history: list[Any] = [
        {"role": "user", "content": "first"},
        {"type": "function_call", "call_id": "c1", "name": "t", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "1"},
        {"role": "assistant", "content": "one"},
        {"role": "user", "content": "second"},
        {"type": "function_call", "call_id": "c2", "name": "t", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c2", "output": "2"},
        {"role": "assistant", "content": "two"},
    ]
    new: list[Any] = [{"role": "user", "content": "third"}]
    combine = bounded_history(5)
    # The newest 5 would open on c1's output without its call: start at the next user turn.
    assert combine(history, new) == [*history[4:], *new]
    assert combine(history[:2], new) == [*history[:2], *new]


async def test_a_run_paused_and_never_resumed_leaves_no_dangling_call_for_the_next(
    tmp_path: Path,
) -> None:
    """The paused call stays in the conversation's session without a result; the SDK leaves
    such a call out of the next request (the model APIs would reject it). This guards that
    behaviour of the dependency, which an expired approval relies on."""
    from tests.test_approvals import approvals_config

    with ScriptedOpenAIServer() as srv:
        engine = Engine.from_settings(
            offline_settings(
                provider="openai",
                api_key="sk-test",
                base_url=srv.base_url,
                config_path=approvals_config(tmp_path),
                approval_ttl_s=0.2,
            )
        )
        srv.enqueue(
            Reply([ToolCall("how_many_jokes", "{}", call_id="call_waits")]),
            Reply([Text("Hello again.")]),
        )
        turn = Turn(conversation_id="c", text="joke please", agent="joker")
        paused = await run_conversation_turn(
            turn, engine=engine, store=engine.store, emit=list().append
        )
        assert paused is not None and paused.type == "run.interrupted"
        await asyncio.sleep(0.3)  # the approval expires: nobody decided
        again = Turn(conversation_id="c", text="never mind", agent="joker")
        done = await run_conversation_turn(
            again, engine=engine, store=engine.store, emit=list().append
        )
        assert done is not None and done.type == "run.completed"
        sent = json.dumps(srv.requests[-1].body)
    assert "call_waits" not in sent and "joke please" in sent


async def test_a_run_log_of_an_older_shape_is_dropped_not_misread(tmp_path: Path) -> None:
    import sqlite3

    from agents_app.memory.sqlite_store import SQLiteStore

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # a file written by an earlier shape of the log
        db.execute(
            "CREATE TABLE run_log (run_id TEXT, seq INTEGER, conversation_id TEXT NOT NULL,"
            " event TEXT, expires REAL NOT NULL, PRIMARY KEY (run_id, seq))"
        )
    store = SQLiteStore(path, lock_ttl_s=5)
    await store.append_events("run_a", "c1", [(1, "{}")])
    assert await store.read_events("run_a", 0) == [(1, "{}")]
    await store.aclose()


async def test_a_paused_run_is_kept_taken_once_and_expires(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, ttl_s=60, lock_ttl_s=5, default_dir=tmp_path)
    try:
        assert await store.pending_approval("c1") is None
        await store.save_approval("run_a", "c1", '{"state": 1}', ttl_s=30)
        assert await store.approval("run_a") == ("c1", '{"state": 1}')
        assert await store.pending_approval("c1") == "run_a"
        taken = await asyncio.gather(*(store.take_approval("run_a") for _ in range(5)))
        assert sorted(taken) == [False, False, False, False, True]  # acted on once
        assert await store.approval("run_a") is None
        assert await store.pending_approval("c1") is None
        await store.save_approval("run_b", "c1", "{}", ttl_s=0.2)
        await asyncio.sleep(0.4)
        assert await store.approval("run_b") is None
        assert await store.pending_approval("c1") is None
        assert not await store.take_approval("run_b")  # an expired one cannot be resumed
    finally:
        await store.aclose()
