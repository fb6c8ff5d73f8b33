"""Batch frames (protocol revision 2, `?batch=1`): what piled up while a send was in flight
goes out as one JSON array, in order, within the frame limit; without batch, nothing changes."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from agents_app.dispatch.batching import pack
from agents_app.dispatch.outbox import Outbox
from agents_app.engine import Engine
from agents_app.protocol.encoders import encode_json
from agents_app.protocol.events import (
    Error,
    Event,
    MessageStarted,
    ModelInfo,
    Pong,
    RunCompleted,
    RunEvent,
    RunStarted,
    SessionReady,
    TextDelta,
    Usage,
)
from agents_app.stream.limits import EVENT_BYTES
from tests.conftest import LiveServer, assert_whole_run, is_terminal, recv_until

IDS = {"run_id": "run_1", "conversation_id": "c1"}


class GatedSink:
    """Each send waits until the test lets it through: a send in flight, for as long as
    the test likes."""

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.started = asyncio.Event()
        self._gate = asyncio.Event()

    async def send(self, frame: str) -> None:
        self.started.set()
        await self._gate.wait()
        self._gate.clear()
        self.started.clear()
        self.frames.append(frame)

    async def let_through(self) -> None:
        self._gate.set()
        await asyncio.sleep(0)


def numbered(events: list[RunEvent]) -> list[RunEvent]:
    for seq, event in enumerate(events, 1):
        event.seq = seq
    return events


def run_events(deltas: int = 3, size: int = 5) -> list[RunEvent]:
    message = {"message_id": "m1", "agent": "joker"}
    return numbered(
        [
            RunStarted(**IDS, agent="triage", input="hi"),
            MessageStarted(**IDS, **message),
            *[TextDelta(**IDS, **message, delta=f"{i:0{size}d}") for i in range(deltas)],
            RunCompleted(**IDS, agent="joker", final_output="", usage=Usage(), duration_ms=1),
        ]
    )


def greeting() -> SessionReady:
    model = ModelInfo(provider="x", name="y")
    return SessionReady(conversation_id="c1", agents=[], start_agent="triage", model=model)


def flatten(frames: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for frame in frames:
        data = json.loads(frame)
        out += data if isinstance(data, list) else [data]
    return out


async def feed(outbox: Outbox, sink: GatedSink, events: list[Event]) -> None:
    """`events[0]` goes out alone; the rest arrive while it is in flight (connection events
    put, run events delivered as the run log hands them over: two at a time)."""
    first, rest = events[0], events[1:]
    outbox.put(first)
    await asyncio.wait_for(sink.started.wait(), 5)
    index = 0
    while index < len(rest):
        event = rest[index]
        if isinstance(event, RunEvent):
            outbox.deliver([e for e in rest[index : index + 2] if isinstance(e, RunEvent)])
            index += len([e for e in rest[index : index + 2] if isinstance(e, RunEvent)])
        else:
            outbox.put(event)
            index += 1
    closing = asyncio.create_task(outbox.aclose())
    while not closing.done():
        await sink.let_through()
    await closing


async def test_what_piles_up_during_a_send_goes_out_as_one_array_in_order() -> None:
    events: list[Event] = [Pong(), *run_events(), Error(code="busy", message="wait")]
    sink = GatedSink()
    await feed(Outbox(sink, encode_json, batch=True).start(), sink, events)
    assert len(sink.frames) == 2
    assert json.loads(sink.frames[0]) == {"type": "pong"}  # alone: an object, not [object]
    assert sink.frames[1].startswith("[")
    assert flatten(sink.frames) == [json.loads(encode_json(e)) for e in events]


async def test_without_batch_every_event_is_its_own_frame_byte_for_byte() -> None:
    events: list[Event] = [Pong(), *run_events(), Error(code="busy", message="wait")]
    sink = GatedSink()
    await feed(Outbox(sink, encode_json).start(), sink, events)
    assert sink.frames == [encode_json(e) for e in events]


async def test_session_ready_is_never_in_an_array() -> None:
    run = run_events()
    events: list[Event] = [Pong(), run[0], run[1], greeting(), *run[2:]]
    sink = GatedSink()
    await feed(Outbox(sink, encode_json, batch=True).start(), sink, events)
    shapes = [json.loads(f) for f in sink.frames]
    ready = [s for s in shapes if isinstance(s, dict) and s["type"] == "session.ready"]
    assert len(ready) == 1
    assert all(e["type"] != "session.ready" for s in shapes if isinstance(s, list) for e in s)
    assert flatten(sink.frames) == [json.loads(encode_json(e)) for e in events]


async def test_arrays_are_split_to_fit_the_frame_limit() -> None:
    events: list[Event] = [Pong(), *run_events(deltas=20, size=5000)]  # ~100 KB piled up
    sink = GatedSink()
    await feed(Outbox(sink, encode_json, batch=True).start(), sink, events)
    assert all(len(frame.encode()) <= EVENT_BYTES for frame in sink.frames)
    assert len(sink.frames) >= 1 + 100_000 // EVENT_BYTES
    assert sum(frame.startswith("[") for frame in sink.frames) >= 3
    assert flatten(sink.frames) == [json.loads(encode_json(e)) for e in events]


def test_pack_keeps_a_lone_or_oversized_frame_as_it_is() -> None:
    assert list(pack(['{"a":1}'], 100)) == ['{"a":1}']
    big = '{"a":"' + "x" * 200 + '"}'
    assert list(pack(['{"a":1}', big, '{"b":2}'], 100)) == ['{"a":1}', big, '{"b":2}']
    assert list(pack(['{"a":1}', '{"b":2}'], 100)) == ['[{"a":1},{"b":2}]']
    # 17 bytes as an array: one byte less and it no longer fits.
    assert list(pack(['{"a":1}', '{"b":2}'], 16)) == ['{"a":1}', '{"b":2}']
    assert list(pack(['{"a":1}', '{"b":2}'], 17)) == ['[{"a":1},{"b":2}]']


# -- the local WebSocket server ---------------------------------------------------------


@dataclass
class Received:
    events: list[dict[str, Any]] = field(default_factory=list)  # flattened, in order
    frames: int = 0
    arrays: int = 0


async def recv_events(ws: Any, stop: Any, wait_s: float = 10) -> Received:
    """Events up to `stop`, flattened from whatever frames carry them."""
    got = Received()
    async with asyncio.timeout(wait_s):
        while not got.events or not stop(got.events[-1]):
            data = json.loads(await ws.recv())
            got.frames += 1
            if isinstance(data, list):
                assert len(data) >= 2  # a lone event is never wrapped
                got.arrays += 1
                got.events += data
            else:
                got.events.append(data)
    return got


async def test_local_websocket_batches_only_when_asked(server: LiveServer) -> None:
    async with server.connect() as ws:
        await ws.send("Tell me a joke about cats")
        plain = await recv_until(ws, is_terminal)  # recv_json: every frame one object
    assert "batch" not in plain[0]["features"]
    run_id = plain[-1]["run_id"]

    async with server.connect("?batch=1") as ws:
        # A finished run's replay is handed over at once: it arrives as one array.
        await ws.send(json.dumps({"type": "run.join", "run_id": run_id}))
        got = await recv_events(ws, is_terminal)
    joined = got.events
    assert joined[0]["type"] == "session.ready" and "batch" in joined[0]["features"]
    assert got.arrays == 1
    assert joined[1:] == plain[1:]
    assert_whole_run(joined)

    async with server.connect("?format=text&batch=1") as ws:
        await ws.send(json.dumps({"type": "run.join", "run_id": run_id}))
        text = await asyncio.wait_for(ws.recv(), 10)
    assert not text.startswith("[")  # text frames are raw text: no arrays there


async def test_session_ready_without_batch_is_unchanged(engine: Engine) -> None:
    ready = engine.session_ready("c1")
    assert "batch" not in ready.features
    assert engine.session_ready("c1", batch=True).features == [*ready.features, "batch"]


# -- lingering (the Cloud Function's batch clients) -------------------------------------


class TimedSink:
    def __init__(self) -> None:
        self.frames: list[tuple[float, str]] = []

    async def send(self, frame: str) -> None:
        self.frames.append((asyncio.get_running_loop().time(), frame))


async def test_events_without_text_linger_until_text_comes() -> None:
    run = run_events(deltas=1)  # run.started, message.started, a delta, run.completed
    sink = TimedSink()
    outbox = Outbox(sink, encode_json, batch=True, linger_s=0.5).start()
    loop = asyncio.get_running_loop()
    outbox.deliver(run[:1])
    await asyncio.sleep(0.05)
    outbox.deliver(run[1:2])
    await asyncio.sleep(0.05)
    assert sink.frames == []  # nothing in flight, yet they wait for company
    texted = loop.time()
    outbox.deliver(run[2:3])  # text never waits, and takes the waiting along
    await asyncio.sleep(0.01)
    assert len(sink.frames) == 1 and sink.frames[0][0] - texted < 0.05
    outbox.deliver(run[3:])
    await outbox.aclose()
    assert flatten([frame for _, frame in sink.frames]) == [json.loads(encode_json(e)) for e in run]
    assert sink.frames[1][1] == encode_json(run[3])  # the terminal went at once, alone


async def test_a_lingering_event_goes_out_when_its_time_is_up() -> None:
    sink = TimedSink()
    outbox = Outbox(sink, encode_json, batch=True, linger_s=0.1).start()
    loop = asyncio.get_running_loop()
    put = loop.time()
    outbox.deliver(run_events()[:1])
    await asyncio.sleep(0.3)
    assert len(sink.frames) == 1 and 0.09 < sink.frames[0][0] - put < 0.25
    outbox.put(Pong())  # connection events do not wait
    await asyncio.sleep(0.01)
    assert len(sink.frames) == 2
    await outbox.aclose()
    # Without batch frames nothing lingers, whatever is asked.
    sink = TimedSink()
    outbox = Outbox(sink, encode_json, linger_s=0.5).start()
    outbox.deliver(run_events()[:1])
    await asyncio.sleep(0.02)
    assert len(sink.frames) == 1
    await outbox.aclose()


# -- text at an interval (the Cloud Function's batch clients) ---------------------------


def frame_events(frame: str) -> list[str]:
    parsed = json.loads(frame)
    return [e["type"] for e in (parsed if isinstance(parsed, list) else [parsed])]


async def test_text_waits_for_its_interval_and_the_end_takes_it_at_once() -> None:
    run = run_events(deltas=3)  # run.started, message.started, 3 deltas, run.completed
    sink = TimedSink()
    loop = asyncio.get_running_loop()
    began = loop.time()
    outbox = Outbox(sink, encode_json, batch=True, text_interval_s=0.3).start()
    outbox.deliver(run[:3])
    await asyncio.sleep(0.1)
    assert sink.frames == []  # nothing in flight, yet text waits: the start counts as a send
    await asyncio.sleep(0.3)
    assert len(sink.frames) == 1 and 0.29 < sink.frames[0][0] - began < 0.39
    outbox.deliver(run[3:4])
    await asyncio.sleep(0.05)
    outbox.deliver(run[4:5])
    await asyncio.sleep(0.1)
    assert len(sink.frames) == 1  # within the interval after the last text went
    ended = loop.time()
    outbox.deliver(run[5:])  # the end never waits, and takes the waiting text along
    await asyncio.sleep(0.01)
    assert len(sink.frames) == 2 and sink.frames[1][0] - ended < 0.05
    await outbox.aclose()
    assert frame_events(sink.frames[0][1]) == ["run.started", "message.started", "text.delta"]
    assert frame_events(sink.frames[1][1]) == ["text.delta", "text.delta", "run.completed"]
    assert flatten([frame for _, frame in sink.frames]) == [json.loads(encode_json(e)) for e in run]


async def test_text_goes_once_its_interval_is_up_and_only_with_batch_frames() -> None:
    run = run_events(deltas=2)
    sink = TimedSink()
    began = asyncio.get_running_loop().time()
    outbox = Outbox(sink, encode_json, batch=True, text_interval_s=0.3).start()
    outbox.deliver(run[:3])
    await asyncio.sleep(0.4)
    assert len(sink.frames) == 1 and 0.29 < sink.frames[0][0] - began < 0.39
    outbox.deliver(run[3:4])  # ~0.1 s after the last text went: it waits ~0.2 s more
    await asyncio.sleep(0.05)
    assert len(sink.frames) == 1
    await asyncio.sleep(0.3)
    assert len(sink.frames) == 2 and 0.29 < sink.frames[1][0] - sink.frames[0][0] < 0.39
    outbox.put(Pong())  # connection events do not wait either
    await asyncio.sleep(0.01)
    assert len(sink.frames) == 3
    await outbox.aclose()
    # Without batch frames text never waits, whatever is asked.
    sink = TimedSink()
    outbox = Outbox(sink, encode_json, text_interval_s=0.5).start()
    outbox.deliver(run[:3])
    await asyncio.sleep(0.01)
    outbox.deliver(run[3:4])
    await asyncio.sleep(0.02)
    assert len(sink.frames) == 4
    await outbox.aclose()
