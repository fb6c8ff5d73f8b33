"""The local server end to end, through a real WebSocket client."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
from typing import Any

import pytest

from agents_app.engine import Engine
from agents_app.server.app import create_app
from agents_app.server.in_loop import serving
from tests.conftest import (
    JOKE_RUN_TYPES,
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


def run_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if "run_id" in e]


@pytest.fixture
async def paced_server() -> Any:
    # Paced like `serve`, only faster: deltas arrive one by one, and runs last long enough
    # for a second frame to arrive mid-run.
    engine = Engine.from_settings(offline_settings(offline_pace_s=0.01))
    async with live_server(engine) as live:
        yield live


async def test_joke_run_over_websocket(paced_server: LiveServer) -> None:
    async with paced_server.connect() as ws:
        hello = await ready(ws)
        assert hello["protocol"] == 1
        assert hello["start_agent"] == "triage"
        assert hello["model"]["provider"] == "offline"
        assert {a["id"] for a in hello["agents"]} >= {"triage", "joker", "researcher"}

        await ws.send(JOKE)
        events = await recv_until(ws, is_terminal)

    assert_whole_run(events)
    kinds = [e["type"] for e in events]
    head = [k for k in kinds if k != "text.delta"]
    assert head == JOKE_RUN_TYPES
    assert kinds.count("text.delta") > 3
    by_type = {e["type"]: e for e in events}
    assert by_type["run.started"]["agent"] == "triage"
    assert by_type["run.started"]["input"] == JOKE
    switched = by_type["agent.switched"]
    assert (switched["from_agent"], switched["to_agent"]) == ("triage", "joker")
    started, done = by_type["tool.call.started"], by_type["tool.call.completed"]
    assert started["tool"] == "how_many_jokes" and started["arguments"] == {}
    assert done["call_id"] == started["call_id"] and done["output"] == "3"
    assert done["error"] is None and done["agent"] == "joker"
    text = "".join(e["delta"] for e in events if e["type"] == "text.delta")
    assert text == by_type["message.completed"]["text"]
    assert "programming" in text.lower()
    completed = by_type["run.completed"]
    assert completed["agent"] == "joker"
    assert completed["final_output"] == text
    assert completed["usage"]["requests"] == 4  # triage, joker twice, and the relevance judge
    assert completed["usage"]["total_tokens"] > 0
    assert all(e["conversation_id"] == hello["conversation_id"] for e in run_events(events))


async def test_json_command_can_start_at_an_agent(server: LiveServer) -> None:
    async with server.connect() as ws:
        await ready(ws)
        await ws.send(json.dumps({"type": "user.message", "text": "cats", "agent": "joker"}))
        events = await recv_until(ws, is_terminal)
    assert_whole_run(events)
    assert events[0]["agent"] == "joker"
    assert "agent.switched" not in [e["type"] for e in events]


async def test_unknown_agent_is_a_typed_error(server: LiveServer) -> None:
    async with server.connect() as ws:
        await ready(ws)
        await ws.send(json.dumps({"type": "user.message", "text": "hi", "agent": "jokr"}))
        error = await recv_json(ws)
        assert error == {"type": "error", "code": "bad_request", "message": error["message"]}
        assert "did you mean 'joker'" in error["message"]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("x" * (33 * 1024), "too_large"),
        ("", "bad_request"),
        ('{"type":"dance"}', "bad_request"),
        (b"\xff\xfe\x00", "bad_request"),
        ('{"type":"run.cancel"}', "bad_request"),  # nothing to cancel
    ],
)
async def test_bad_frames_get_errors_and_the_connection_stays_usable(
    server: LiveServer, frame: str | bytes, code: str
) -> None:
    async with server.connect() as ws:
        await ready(ws)
        await ws.send(frame)
        error = await recv_json(ws)
        assert (error["type"], error["code"]) == ("error", code)
        await ws.send('{"type":"ping"}')
        assert await recv_json(ws) == {"type": "pong"}
        await ws.send(JOKE)
        assert_whole_run(await recv_until(ws, is_terminal))


async def test_busy_while_a_run_is_going(paced_server: LiveServer) -> None:
    async with paced_server.connect() as ws:
        await ready(ws)
        await ws.send(JOKE)
        await ws.send("and another one")
        events = await recv_until(ws, is_terminal)
    errors = [e for e in events if e["type"] == "error"]
    assert [e["code"] for e in errors] == ["busy"]
    assert events[-1]["type"] == "run.completed"
    assert_whole_run([e for e in events if e["type"] != "error"])


async def test_cancel_ends_the_run_and_the_next_one_works(paced_server: LiveServer) -> None:
    async with paced_server.connect() as ws:
        await ready(ws)
        await ws.send(JOKE)
        await recv_until(ws, lambda e: e["type"] == "text.delta")
        await ws.send('{"type":"run.cancel"}')
        rest = await recv_until(ws, is_terminal)
        assert rest[-1]["type"] == "run.cancelled"
        assert rest[-1]["reason"] == "cancelled by client"
        await ws.send(json.dumps({"type": "user.message", "text": "joke", "agent": "joker"}))
        second = await recv_until(ws, is_terminal)
        assert second[-1]["type"] == "run.completed"
        assert second[0]["seq"] == 1 and second[0]["run_id"] != rest[-1]["run_id"]


async def test_disconnect_mid_run_leaves_the_server_serving(paced_server: LiveServer) -> None:
    async with paced_server.connect() as ws:
        await ready(ws)
        await ws.send(JOKE)
        await recv_until(ws, lambda e: e["type"] == "text.delta")
    # The run outlives its connection (on_disconnect: continue) and then ends on its own.
    [run] = [t for t in asyncio.all_tasks() if t.get_name().startswith("run:")]
    await asyncio.wait_for(run, 10)
    assert run.result().type == "run.completed"
    async with paced_server.connect() as ws:
        await ready(ws)
        await ws.send('{"type":"ping"}')
        assert await recv_json(ws) == {"type": "pong"}


async def test_text_format_streams_raw_text_only(paced_server: LiveServer) -> None:
    async with paced_server.connect("?format=text") as ws:
        await ws.send(JOKE)
        frames: list[str] = []
        # Text mode has no terminal event (seed-compatible), so read until the stream idles.
        with contextlib.suppress(TimeoutError):
            while len(frames) < 5000:
                frames.append(str(await asyncio.wait_for(ws.recv(), 1.0)))
    text = "".join(frames)
    assert "programming" in text.lower()
    assert len(frames) > 3
    assert not any(frame.lstrip().startswith("{") for frame in frames)


async def test_unknown_format_is_refused(server: LiveServer) -> None:
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus):
        async with server.connect("?format=xml"):
            pass


async def test_the_server_freezes_what_start_up_made() -> None:
    # A full collection over ~190k start-up objects stalls every connection for ~120 ms.
    gc.unfreeze()
    engine = Engine.from_settings(offline_settings())
    try:
        async with serving(create_app(engine), lifespan="on"):
            assert gc.get_freeze_count() > 100_000
    finally:
        gc.unfreeze()
