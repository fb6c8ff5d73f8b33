"""The run log and a client's outbox: coalescing paced by the client, gap-free seq for all,
the store down and back, sink loss."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from agents_app.dispatch.outbox import Outbox
from agents_app.memory.sqlite_store import SQLiteStore
from agents_app.memory.store import StoreUnavailable
from agents_app.protocol.encoders import encode_json
from agents_app.protocol.events import (
    MessageCompleted,
    RunCompleted,
    RunEvent,
    RunStarted,
    TextDelta,
    Usage,
)
from agents_app.protocol.sink import SinkClosed
from agents_app.runs.log import RunLog
from agents_app.stream.coalesce import coalesce

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


def completed() -> RunCompleted:
    return RunCompleted(**IDS, agent="joker", final_output="", usage=Usage(), duration_ms=1)


def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "c.db", lock_ttl_s=30, log_ttl_s=60)


def test_coalesce_merges_only_adjacent_deltas_of_one_message() -> None:
    batch: list[RunEvent] = [
        delta("a"),
        delta("b"),
        delta("c", "m2"),
        MessageCompleted(**IDS, message_id="m2", agent="joker", text="c"),
        delta("d"),
        delta("e"),
    ]
    out = coalesce(batch)
    assert [getattr(e, "delta", e.type) for e in out] == ["ab", "c", "message.completed", "de"]  # type: ignore[attr-defined]


async def test_a_slow_client_gets_few_large_events_and_the_log_has_the_same(
    tmp_path: Path,
) -> None:
    db = store(tmp_path)
    sink = SlowSink(0.020)
    outbox = Outbox(sink, encode_json).start()
    log = RunLog("run_1", "c1", db).start()
    followed = log.subscribe(outbox)
    log.put(RunStarted(**IDS, agent="joker", input="hi"))
    words = [f"w{i} " for i in range(400)]
    started = time.monotonic()
    for word in words:
        log.put(delta(word))
        await asyncio.sleep(0)  # the producer yields, as a streaming run does
    log.put(completed())
    await log.close()
    assert await followed is True
    elapsed = time.monotonic() - started
    await outbox.aclose()

    events = [json.loads(frame) for frame in sink.frames]
    assert "".join(e["delta"] for e in events if e["type"] == "text.delta") == "".join(words)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    # 400 sends at 20 ms would take 8 s; pacing on the client collapses them to a handful.
    assert len(sink.frames) < 20
    assert elapsed < 1.0
    logged = await db.read_events("run_1", 0)
    assert [json.loads(raw) for _, raw in logged] == events


async def test_the_log_is_written_with_nobody_listening_and_a_stalled_client_cannot_stop_it(
    tmp_path: Path,
) -> None:
    db = store(tmp_path)
    stalled = Outbox(SlowSink(3600), encode_json).start()
    log = RunLog("run_1", "c1", db).start()
    log.subscribe(stalled)
    log.put(RunStarted(**IDS, agent="joker", input="hi"))
    await asyncio.sleep(0.05)
    for i in range(5):
        log.put(delta(f"{i} "))
        await asyncio.sleep(0)
    log.put(completed())
    await asyncio.wait_for(log.close(), 5)  # paced at most PACE_S per batch, never blocked
    logged = [json.loads(raw) for _, raw in await db.read_events("run_1", 0)]
    assert logged[-1]["type"] == "run.completed"
    assert [e["seq"] for e in logged] == list(range(1, len(logged) + 1))
    await stalled.aclose(drain=False)


async def test_a_store_outage_leaves_no_gap_once_it_is_back(tmp_path: Path) -> None:
    db = store(tmp_path)
    real_append = db.append_events
    down = True

    async def flaky(run_id: str, conversation_id: str, events: list[tuple[int, str]]) -> None:
        if down:
            raise StoreUnavailable("sqlite: down")
        await real_append(run_id, conversation_id, events)

    db.append_events = flaky  # type: ignore[method-assign]
    sink = SlowSink(0)
    outbox = Outbox(sink, encode_json).start()
    log = RunLog("run_1", "c1", db).start()
    log.subscribe(outbox)
    log.put(RunStarted(**IDS, agent="joker", input="hi"))
    log.put(delta("a "))
    await asyncio.sleep(0.05)
    down = False
    log.put(delta("b ", "m2"))
    log.put(completed())
    await log.close()
    await outbox.aclose()
    logged = [json.loads(raw) for _, raw in await db.read_events("run_1", 0)]
    assert [e["seq"] for e in logged] == [1, 2, 3, 4]
    assert logged == [json.loads(frame) for frame in sink.frames]


async def test_sink_closed_stops_sending_and_notifies() -> None:
    notified = asyncio.Event()

    class GoneSink:
        async def send(self, frame: str) -> None:
            raise SinkClosed("gone")

    outbox = Outbox(GoneSink(), encode_json, on_closed=notified.set).start()
    sent = outbox.deliver([delta("x")])
    await asyncio.wait_for(notified.wait(), 2)
    assert outbox.closed and sent.done()
    assert outbox.deliver([delta("y")]).done()  # dropped, not queued forever
    await outbox.aclose()


async def test_encoder_skipping_events_consumes_no_frames() -> None:
    sink = SlowSink(0)
    outbox = Outbox(sink, lambda e: e.delta if isinstance(e, TextDelta) else None).start()
    outbox.deliver(
        [
            RunStarted(**IDS, agent="a", input="x"),
            delta("hello "),
            MessageCompleted(**IDS, message_id="m1", agent="a", text="hello "),
        ]
    )
    await outbox.aclose()
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


async def test_logged_events_fit_a_gateway_frame_with_gap_free_seq(tmp_path: Path) -> None:
    from agents_app.stream.limits import EVENT_BYTES

    db = store(tmp_path)
    log = RunLog("run_1", "c1", db).start()
    log.put(RunStarted(**IDS, agent="a", input="hi"))
    for _ in range(50):
        log.put(delta("y" * 5000))
    log.put(completed())
    await log.close()
    rows = await db.read_events("run_1", 0)
    assert all(len(raw.encode()) <= EVENT_BYTES for _, raw in rows)
    assert [seq for seq, _ in rows] == list(range(1, len(rows) + 1))
    events = [json.loads(raw) for _, raw in rows]
    assert sum(len(e.get("delta", "")) for e in events) == 250_000
    assert len(rows) > 8  # 250 kB of deltas cannot travel in fewer 32 KB frames


class Recorder:
    """A subscriber that keeps each batch the log hands it."""

    closed = False

    def __init__(self) -> None:
        self.batches: list[list[RunEvent]] = []

    def deliver(self, events: Sequence[RunEvent]) -> asyncio.Future[None]:
        self.batches.append(list(events))
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sent.set_result(None)
        return sent

    def prime(self, events: Sequence[RunEvent]) -> None:
        return None


async def test_a_burst_over_a_few_loop_turns_is_published_as_one_batch(tmp_path: Path) -> None:
    log = RunLog("run_1", "c1", store(tmp_path)).start()
    recorder = Recorder()
    log.subscribe(recorder)
    for word in ("a ", "b ", "c "):
        log.put(delta(word))
        await asyncio.sleep(0)  # a model streaming faster than the loop turns
    await asyncio.sleep(0.05)
    assert [[e.delta for e in b] for b in recorder.batches] == [["a b c "]]  # type: ignore[attr-defined]
    log.put(completed())
    await log.close()


async def test_a_paced_stream_is_published_as_it_comes(tmp_path: Path) -> None:
    log = RunLog("run_1", "c1", store(tmp_path)).start()
    recorder = Recorder()
    log.subscribe(recorder)
    for word in ("a ", "b "):
        log.put(delta(word))
        await asyncio.sleep(0.01)  # the writer went out before the next word
        assert recorder.batches[-1][0].delta == word  # type: ignore[attr-defined]
    log.put(completed())
    await log.close()
    assert len(recorder.batches) == 3


async def test_appends_linger_for_company_and_closing_flushes_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agents_app.runs.log as run_log

    monkeypatch.setattr(run_log, "LINGER_S", 5.0)
    db = store(tmp_path)
    real_append = db.append_events
    appends: list[int] = []

    async def counted(run_id: str, conversation_id: str, events: list[tuple[int, str]]) -> None:
        appends.append(len(events))
        await real_append(run_id, conversation_id, events)

    db.append_events = counted  # type: ignore[method-assign]
    log = RunLog("run_1", "c1", db).start()
    log.put(RunStarted(**IDS, agent="joker", input="hi"))
    for i in range(10):
        await asyncio.sleep(0.01)  # each its own batch: the writer has published it
        log.put(delta(f"{i} ", f"m{i}"))
    log.put(completed())
    started = time.monotonic()
    await asyncio.wait_for(log.close(), 10)
    assert time.monotonic() - started < 2.5  # not the 5 s linger: closing appends at once
    assert appends == [12]  # one append for the whole run, not one per batch
    logged = await db.read_events("run_1", 0)
    assert [seq for seq, _ in logged] == list(range(1, 13))
