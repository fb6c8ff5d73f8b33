"""`Outbox`: one client's way out — events in order → encoder → sink, by one sender task.

Run events arrive numbered from a run's log (`deliver`, which says when they are sent, so
the log can pace itself on its clients); connection events (`session.ready`, `error`,
`pong`) are put without waiting. Nothing here merges or renumbers: every client of a run
sees the same seq.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import structlog

from agents_app.protocol.encoders import Encoder
from agents_app.protocol.events import Event, RunEvent, TerminalEvent
from agents_app.protocol.sink import Sink, SinkClosed
from agents_app.stream.limits import fit

log = structlog.get_logger("agents_app.outbox")
_Item = tuple[Sequence[Event], asyncio.Future[None] | None]


class Outbox:
    def __init__(
        self,
        sink: Sink,
        encoder: Encoder,
        *,
        on_closed: Callable[[], None] | None = None,
        max_frame_bytes: int | None = None,
    ) -> None:
        self._sink = sink
        self._encode = encoder
        self._on_closed = on_closed
        self._max_frame_bytes = max_frame_bytes
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.closed = False
        self.frames_sent = 0
        self.ended: dict[str, str] = {}  # run_id → the type of its terminal event, once sent
        self._terminal_watchers: list[Callable[[str], None]] = []
        self._frame_watchers: list[Callable[[], None]] = []

    def start(self) -> Outbox:
        self._task = asyncio.create_task(self._send_loop(), name="outbox")
        return self

    def on_terminal(self, watcher: Callable[[str], None]) -> None:
        """Call `watcher(run_id)` as a run's terminal event goes out (before it is sent)."""
        self._terminal_watchers.append(watcher)

    def on_frame(self, watcher: Callable[[], None]) -> None:
        """Call `watcher()` as each frame is sent (metrics)."""
        self._frame_watchers.append(watcher)

    def put(self, event: Event) -> None:
        if not self.closed:
            self._queue.put_nowait(((event,), None))

    def deliver(self, events: Sequence[RunEvent]) -> asyncio.Future[None]:
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.closed:
            sent.set_result(None)
        else:
            self._queue.put_nowait((events, sent))
        return sent

    def prime(self, events: Sequence[RunEvent]) -> None:
        prime = getattr(self._encode, "prime", None)
        if callable(prime):
            prime(events)

    async def aclose(self, *, drain: bool = True) -> None:
        """Stop the sender; with `drain`, everything already queued is sent first."""
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
        self._settle_queued()

    async def _send_loop(self) -> None:
        try:
            while (item := await self._queue.get()) is not None:
                events, sent = item
                try:
                    for event in events:
                        await self._send(event)
                except SinkClosed as exc:
                    self._gone(str(exc))
                    return
                finally:
                    if sent is not None and not sent.done():
                        sent.set_result(None)
        finally:
            self._settle_queued()

    async def _send(self, event: Event) -> None:
        pieces = [event]
        if self._max_frame_bytes is not None and not isinstance(event, RunEvent):
            pieces = fit(event, self._max_frame_bytes)  # run events were fitted when logged
        if isinstance(event, TerminalEvent):
            # Noted before sending: the client may answer the moment it arrives.
            self.ended[event.run_id] = event.type
            for watcher in self._terminal_watchers:
                watcher(event.run_id)
        for piece in pieces:
            frames = self._encode(piece)
            for frame in [frames] if isinstance(frames, str) else frames or ():
                await self._sink.send(frame)
                self.frames_sent += 1
                for counted in self._frame_watchers:
                    counted()

    def _gone(self, why: str) -> None:
        self.closed = True
        log.info("sink.closed", reason=why)
        if self._on_closed is not None:
            self._on_closed()

    def _settle_queued(self) -> None:
        """Nobody will send what is still queued: release whoever waits on it."""
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None and item[1] is not None and not item[1].done():
                item[1].set_result(None)
