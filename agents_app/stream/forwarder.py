"""The per-connection queue between a run and a sink.

The run never waits for the network: it puts events and moves on. One sender task drains the
queue; whatever piled up while a send was in flight goes out in the next batch, with
consecutive deltas of one message merged. So a slow sink costs fewer, larger frames instead of
a slower run, and `seq` is stamped on what is actually sent, keeping it gap-free.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from agents_app.protocol.encoders import Encoder
from agents_app.protocol.events import Event, RunEvent, TextDelta
from agents_app.sinks import Sink, SinkClosed
from agents_app.stream.limits import fit

log = structlog.get_logger("agents_app.forwarder")


def coalesce(batch: list[Event]) -> list[Event]:
    """Merge runs of `text.delta` of the same message into one delta."""
    out: list[Event] = []
    pending: list[str] = []
    head: TextDelta | None = None
    for event in batch:
        if isinstance(event, TextDelta):
            if head is not None and event.message_id == head.message_id:
                pending.append(event.delta)
                continue
            _flush(head, pending)
            head, pending = event, []
            out.append(event)
            continue
        _flush(head, pending)
        head, pending = None, []
        out.append(event)
    _flush(head, pending)
    return out


def _flush(head: TextDelta | None, pending: list[str]) -> None:
    if head is not None and pending:
        head.delta = head.delta + "".join(pending)


class Forwarder:
    def __init__(
        self,
        sink: Sink,
        encoder: Encoder,
        *,
        on_sink_closed: Callable[[], None] | None = None,
        max_frame_bytes: int | None = None,
    ) -> None:
        self._sink = sink
        self._encode = encoder
        self._max_frame_bytes = max_frame_bytes
        self._on_sink_closed = on_sink_closed
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._seq: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self.sink_closed = False
        self.frames_sent = 0

    def start(self) -> Forwarder:
        self._task = asyncio.create_task(self._send_loop(), name="forwarder")
        return self

    def put(self, event: Event) -> None:
        if not self.sink_closed:
            self._queue.put_nowait(event)

    async def aclose(self, *, drain: bool = True) -> None:
        """Stop the sender; with `drain`, everything already put is sent first."""
        if self._task is None:
            return
        if drain and not self._task.done():
            self._queue.put_nowait(None)
            try:
                await asyncio.shield(self._task)
            except asyncio.CancelledError:
                self._task.cancel()
                raise
        else:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _send_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            done = batch[-1] is None
            events = [event for event in batch if event is not None]
            try:
                for event in coalesce(events):
                    await self._send(event)
            except SinkClosed as exc:
                self._closed(str(exc))
                return
            if done:
                return

    async def _send(self, event: Event) -> None:
        if self._max_frame_bytes is None:
            await self._send_one(event)
            return
        for piece in fit(event, self._max_frame_bytes):
            await self._send_one(piece)

    async def _send_one(self, event: Event) -> None:
        if isinstance(event, RunEvent):
            event.seq = self._seq[event.run_id] = self._seq.get(event.run_id, 0) + 1
        frames = self._encode(event)
        if frames is None:
            return
        for frame in [frames] if isinstance(frames, str) else frames:
            await self._sink.send(frame)
            self.frames_sent += 1

    def _closed(self, why: str) -> None:
        self.sink_closed = True
        log.info("sink.closed", reason=why)
        if self._on_sink_closed is not None:
            self._on_sink_closed()
