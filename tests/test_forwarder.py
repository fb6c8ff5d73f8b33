"""The forwarder: coalescing under a slow sink, gap-free seq, sink loss."""

from __future__ import annotations

import asyncio
import json
import time

from agents_app.protocol.encoders import encode_json
from agents_app.protocol.events import Event, MessageCompleted, RunStarted, TextDelta
from agents_app.sinks import SinkClosed
from agents_app.stream.forwarder import Forwarder, coalesce

IDS = {"run_id": "run_1", "conversation_id": "c1"}


class SlowSink:
    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.frames: list[str] = []

    async def send(self, frame: str) -> None:
        await asyncio.sleep(self.delay_s)
        self.frames.append(frame)


def delta(text: str, message_id: str = "m1") -> TextDelta:
    return TextDelta(**IDS, message_id=message_id, agent="joker", delta=text)


def test_coalesce_merges_only_adjacent_deltas_of_one_message() -> None:
    batch: list[Event] = [
        delta("a"),
        delta("b"),
        delta("c", "m2"),
        MessageCompleted(**IDS, message_id="m2", agent="joker", text="c"),
        delta("d"),
        delta("e"),
    ]
    out = coalesce(batch)
    assert [getattr(e, "delta", e.type) for e in out] == ["ab", "c", "message.completed", "de"]


async def test_slow_sink_gets_few_large_frames_in_order() -> None:
    sink = SlowSink(0.020)
    forwarder = Forwarder(sink, encode_json).start()
    forwarder.put(RunStarted(**IDS, agent="joker", input="hi"))
    words = [f"w{i} " for i in range(400)]
    started = time.monotonic()
    for word in words:
        forwarder.put(delta(word))
        await asyncio.sleep(0)  # the producer yields, as a streaming run does
    await forwarder.aclose()
    elapsed = time.monotonic() - started

    events = [json.loads(frame) for frame in sink.frames]
    assert "".join(e["delta"] for e in events if e["type"] == "text.delta") == "".join(words)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    # 400 sends at 20 ms would take 8 s; coalescing must collapse them to a handful.
    assert len(sink.frames) < 20
    assert elapsed < 1.0


async def test_sink_closed_stops_sending_and_notifies() -> None:
    notified = asyncio.Event()

    class GoneSink:
        async def send(self, frame: str) -> None:
            raise SinkClosed("gone")

    forwarder = Forwarder(GoneSink(), encode_json, on_sink_closed=notified.set).start()
    forwarder.put(delta("x"))
    await asyncio.wait_for(notified.wait(), 2)
    assert forwarder.sink_closed
    forwarder.put(delta("y"))  # dropped, not queued forever
    await forwarder.aclose()


async def test_encoder_skipping_events_consumes_no_frames() -> None:
    sink = SlowSink(0)
    forwarder = Forwarder(sink, lambda e: e.delta if isinstance(e, TextDelta) else None).start()
    forwarder.put(RunStarted(**IDS, agent="a", input="x"))
    forwarder.put(delta("hello "))
    forwarder.put(MessageCompleted(**IDS, message_id="m1", agent="a", text="hello "))
    await forwarder.aclose()
    assert sink.frames == ["hello "]


def test_fit_splits_big_deltas_and_shrinks_other_events() -> None:
    from agents_app.stream.limits import fit

    limit = 32 * 1024
    text = "ъ" * 40_000 + "x" * 30_000  # ~110 KB of UTF-8
    pieces = fit(delta(text), limit)
    assert "".join(p.delta for p in pieces if isinstance(p, TextDelta)) == text
    assert all(len(encode_json(p).encode()) <= limit for p in pieces)

    done = MessageCompleted(**IDS, message_id="m1", agent="a", text=text)
    [shrunk] = fit(done, limit)
    frame = encode_json(shrunk)
    assert len(frame.encode()) <= limit and json.loads(frame)["text"].endswith("…")
    small = delta("small")
    assert fit(small, limit) == [small]


async def test_forwarder_keeps_frames_under_the_limit_with_gap_free_seq() -> None:
    sink = SlowSink(0)
    forwarder = Forwarder(sink, encode_json, max_frame_bytes=4096).start()
    forwarder.put(RunStarted(**IDS, agent="a", input="hi"))
    for _ in range(50):
        forwarder.put(delta("y" * 500))
    await forwarder.aclose()
    events = [json.loads(frame) for frame in sink.frames]
    assert all(len(frame.encode()) <= 4096 for frame in sink.frames)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert sum(len(e.get("delta", "")) for e in events) == 25_000
