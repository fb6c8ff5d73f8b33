"""Runs that outlive connections: the run log, run.join and replay by seq (DESIGN §3a)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection

from agents_app.engine import Engine
from tests.conftest import (
    LiveServer,
    assert_whole_run,
    is_terminal,
    live_server,
    offline_settings,
    ready,
    recv_json,
    recv_until,
)

JOKE = "Tell me a joke about programming"


def streamed_text(events: list[dict[str, Any]]) -> dict[str, str]:
    """message_id → the text its deltas add up to."""
    texts: dict[str, str] = {}
    for event in events:
        if event["type"] == "text.delta":
            texts[event["message_id"]] = texts.get(event["message_id"], "") + event["delta"]
    return texts


def completed_text(events: list[dict[str, Any]]) -> dict[str, str]:
    return {e["message_id"]: e["text"] for e in events if e["type"] == "message.completed"}


async def join(ws: ClientConnection, **fields: Any) -> list[dict[str, Any]]:
    await ws.send(json.dumps({"type": "run.join", **fields}))
    return await recv_until(ws, lambda e: is_terminal(e) or e["type"] == "error")


def paced(**overrides: Any) -> Engine:
    # Slow enough that a client can drop mid-answer, fast enough for a test.
    return Engine.from_settings(offline_settings(offline_pace_s=0.01, **overrides))


async def drop_mid_answer(live: LiveServer, conversation: str) -> list[dict[str, Any]]:
    """Start a joke, read until some text has streamed, vanish; what the client saw."""
    async with live.connect() as ws:
        await ready(ws)
        await ws.send(
            json.dumps({"type": "user.message", "text": JOKE, "conversation_id": conversation})
        )
        seen = await recv_until(ws, lambda e: e["type"] == "text.delta")
    return [e for e in seen if "run_id" in e]


async def test_session_ready_announces_join() -> None:
    async with live_server(paced()) as live, live.connect() as ws:
        hello = await ready(ws)
    assert hello["protocol"] == 1 and hello["features"] == [
        "join",
        "approvals",
        "multitask",
        "guardrails",
    ]


async def test_drop_reconnect_join_gives_the_whole_answer_once() -> None:
    async with live_server(paced()) as live:
        seen = await drop_mid_answer(live, "conv-drop")
        run_id, last = seen[-1]["run_id"], seen[-1]["seq"]
        async with live.connect() as ws:
            await ready(ws)
            rest = await join(ws, run_id=run_id, after_seq=last)
    events = seen + rest
    assert_whole_run(events)
    assert rest[0]["seq"] == last + 1
    assert events[-1]["type"] == "run.completed"
    assert streamed_text(events) == completed_text(events) != {}


async def test_join_by_conversation_finds_its_running_run() -> None:
    async with live_server(paced()) as live:
        seen = await drop_mid_answer(live, "conv-by-id")
        async with live.connect() as ws:
            await ready(ws)
            replay = await join(ws, conversation_id="conv-by-id")
    assert replay[0]["run_id"] == seen[0]["run_id"]
    assert_whole_run(replay)
    assert [e["type"] for e in replay[: len(seen)]] == [e["type"] for e in seen]


async def test_join_of_a_finished_run_replays_it_whole() -> None:
    async with live_server(paced()) as live:
        async with live.connect() as ws:
            await ready(ws)
            await ws.send(JOKE)
            live_events = await recv_until(ws, is_terminal)
        async with live.connect() as ws:
            await ready(ws)
            replay = await join(ws, run_id=live_events[0]["run_id"])
    assert replay == live_events  # the same events, seq and timestamps included
    assert_whole_run(replay)


async def test_two_clients_joined_to_one_run_see_the_same_events() -> None:
    async with (
        live_server(paced()) as live,
        live.connect() as starter,
        live.connect() as a,
        live.connect() as b,
    ):
        for ws in (starter, a, b):
            await ready(ws)
        await starter.send(
            json.dumps({"type": "user.message", "text": JOKE, "conversation_id": "conv-shared"})
        )
        first = await recv_json(starter)
        seen_a, seen_b, seen_starter = await asyncio.gather(
            join(a, run_id=first["run_id"]),
            join(b, conversation_id="conv-shared", after_seq=0),
            recv_until(starter, is_terminal),
        )
    assert seen_a == seen_b == [first, *seen_starter]
    assert_whole_run(seen_a)


async def test_unknown_and_expired_runs_are_not_found() -> None:
    async with live_server(paced(run_log_ttl_s=0.5)) as live, live.connect() as ws:
        await ready(ws)
        unknown = await join(ws, run_id="run_nope")
        assert unknown[-1]["type"] == "error" and unknown[-1]["code"] == "not_found"
        await ws.send(JOKE)
        events = await recv_until(ws, is_terminal)
        assert (await join(ws, run_id=events[0]["run_id"]))[-1]["type"] == "run.completed"
        await asyncio.sleep(0.8)
        expired = await join(ws, run_id=events[0]["run_id"])
    assert expired == [{"type": "error", "code": "not_found", "message": expired[0]["message"]}]


async def test_on_disconnect_cancel_still_cancels() -> None:
    engine = paced(on_disconnect="cancel")
    async with live_server(engine) as live:
        seen = await drop_mid_answer(live, "conv-cancel")
        async with live.connect() as ws:
            await ready(ws)
            rest = await join(ws, run_id=seen[0]["run_id"], after_seq=seen[-1]["seq"])
    assert rest[-1]["type"] == "run.cancelled" and rest[-1]["reason"] == "client disconnected"
    assert_whole_run(seen + rest)


async def test_on_disconnect_comes_from_agents_yaml(tmp_path: Any) -> None:
    from agents_app.settings import DEFAULT_CONFIG

    config = tmp_path / "agents.yaml"
    text = DEFAULT_CONFIG.read_text().replace(
        "start: triage", "start: triage\non_disconnect: cancel", 1
    )
    config.write_text(text)
    (tmp_path / "prompts").symlink_to(DEFAULT_CONFIG.parent / "prompts")
    engine = paced(config_path=config)
    assert engine.on_disconnect == "cancel"
    assert paced(config_path=config, on_disconnect="continue").on_disconnect == "continue"


async def test_a_message_to_a_running_conversation_is_busy_and_join_picks_it_up() -> None:
    async with live_server(paced()) as live:
        seen = await drop_mid_answer(live, "conv-busy")
        async with live.connect() as ws:
            await ready(ws)
            await ws.send(
                json.dumps(
                    {"type": "user.message", "text": "again", "conversation_id": "conv-busy"}
                )
            )
            busy = await recv_json(ws)
            assert busy["type"] == "error" and busy["code"] == "busy"
            rest = await join(ws, conversation_id="conv-busy", after_seq=seen[-1]["seq"])
    assert_whole_run(seen + rest)


async def test_a_run_cancelled_before_its_first_step_still_ends_once_and_frees_its_conversation(
    tmp_path: Any,
) -> None:
    from agents_app.memory.store import RunRecord
    from agents_app.runs.registry import Runs
    from agents_app.runs.turn import Turn
    from tests.run_helpers import Collector

    engine = paced()
    runs = Runs(engine)
    run = await runs.start(Turn(conversation_id="c-early", text=JOKE))
    assert run is not None
    # No await between start and cancel: the run's task has not taken a step yet (a cancel
    # frame read right behind the message does exactly this).
    assert await runs.cancel(run_id=run.run_id, reason="cancelled by client")
    seen = Collector()
    await asyncio.wait_for(runs.follow(RunRecord(run.run_id, "c-early", running=True), seen), 5)
    await asyncio.wait([run.task])
    assert [e.type for e in seen.events] == ["run.started", "run.cancelled"]  # type: ignore[attr-defined]
    assert [e.seq for e in seen.events] == [1, 2]
    assert await engine.store.claim("c-early", "run_next")  # not left locked


async def test_a_join_that_cannot_reach_the_end_says_so(monkeypatch: Any) -> None:
    from agents_app.protocol.events import RunStarted
    from agents_app.runs import follow

    monkeypatch.setattr(follow, "ORPHAN_AFTER_S", 0.5)
    engine = paced(run_log_ttl_s=0.4)
    started = RunStarted(run_id="run_ghost", conversation_id="ghost", seq=1, agent="a", input="x")
    # A run another instance logged the start of, then went silent: its log expires under us.
    await engine.store.append_events("run_ghost", "ghost", [(1, started.model_dump_json())])
    async with live_server(engine) as live, live.connect() as ws:
        await ready(ws)
        events = await join(ws, run_id="run_ghost")
    assert events[0]["type"] == "run.started"
    assert events[-1]["type"] == "error" and events[-1]["code"] == "unavailable"
