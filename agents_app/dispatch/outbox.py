"""`Outbox`: one client's way out — events in order → encoder → sink, by one sender task.

Run events arrive numbered from a run's log (`deliver`, which says when they are sent, so
the log can pace itself on its clients); connection events (`session.ready`, `error`,
`pong`) are put without waiting. Nothing here merges or renumbers: every client of a run
sees the same seq.

With `batch` (a client that asked for batch frames), everything queued while the previous
send was in flight goes out together, as JSON arrays within the frame limit: a gateway
`Send` costs the same ~20 ms for one event or thirty. With `linger_s` too, events that show
no text and end nothing (run.started, agent.switched, tool calls, message boundaries) wait
that long for company even when nothing is in flight. With `text_interval_s`, text goes at
most once an interval (counted from the previous message with text, or from the outbox's
start): a model that streams a word every 20 ms no longer costs a `Send` a word, and a fast
answer ends in one message instead of behind `Send`s in series. Terminal events and
connection events never wait, and take whatever waits along.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import structlog

from agents_app.dispatch.batching import pack
from agents_app.protocol.encoders import Encoder
from agents_app.protocol.events import Event, RunEvent, SessionReady, TerminalEvent, TextDelta
from agents_app.protocol.sink import Sink, SinkClosed
from agents_app.stream.limits import EVENT_BYTES, fit

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
        batch: bool = False,
        linger_s: float = 0.0,
        text_interval_s: float = 0.0,
    ) -> None:
        self._sink = sink
        self.batch = batch
        self._linger_s = linger_s if batch else 0.0
        self._text_interval_s = text_interval_s if batch else 0.0
        # Loop time: when the last message with text began (at first: when the outbox did).
        self._text_began = 0.0
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
        self._text_began = asyncio.get_running_loop().time()
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
                items, last = ([item], False) if not self.batch else self._with_queued(item)
                if self._linger_s or self._text_interval_s:
                    items, last = await self._with_company(items, last)
                try:
                    if self.batch:
                        events = [e for events, _ in items for e in events]
                        if any(isinstance(e, TextDelta) for e in events):
                            self._text_began = asyncio.get_running_loop().time()
                        await self._send_batched(events)
                    else:
                        for event in item[0]:
                            await self._send(event)
                except SinkClosed as exc:
                    self._gone(str(exc))
                    return
                finally:
                    for _, sent in items:
                        if sent is not None and not sent.done():
                            sent.set_result(None)
                if last:
                    return
        finally:
            self._settle_queued()

    def _with_queued(self, first: _Item) -> tuple[list[_Item], bool]:
        """`first` and everything queued behind it; True if the queue's end mark was among it."""
        items = [first]
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is None:
                return items, True
            items.append(item)
        return items, False

    async def _with_company(self, items: list[_Item], last: bool) -> tuple[list[_Item], bool]:
        """Wait while everything at hand may wait (`_may_wait_until`), taking what comes."""
        loop = asyncio.get_running_loop()
        linger_until = loop.time() + self._linger_s
        while not last:
            left = self._may_wait_until(items, linger_until) - loop.time()
            if left <= 0:
                break
            # Taken on: the run's log may hand over what comes next, for this message.
            for _, sent in items:
                if sent is not None and not sent.done():
                    sent.set_result(None)
            got, item = await self._get_within(left)
            if not got:
                break
            if item is None:
                return items, True
            more, last = self._with_queued(item)
            items += more
        return items, last

    def _may_wait_until(self, items: list[_Item], linger_until: float) -> float:
        """The loop time until which `items` may wait for company (the past: send now)."""
        events = [event for events, _ in items for event in events]
        if not all(isinstance(e, TextDelta) or _can_wait(e) for e in events):
            return 0.0  # a terminal or a connection event: never kept waiting
        if not any(isinstance(e, TextDelta) for e in events):
            return linger_until
        return self._text_began + self._text_interval_s

    async def _get_within(self, timeout_s: float) -> tuple[bool, _Item | None]:
        """(True, the next queued item), or (False, None) after `timeout_s`. Never loses an
        item: a get that completes as the time runs out still counts."""
        getter = asyncio.ensure_future(self._queue.get())
        try:
            await asyncio.wait({getter}, timeout=max(0.0, timeout_s))
            if not getter.done():
                getter.cancel()
                # A cancelled get leaves its item queued; one that got it first returns it.
                await asyncio.wait({getter})
        finally:
            if not getter.done():
                getter.cancel()
        if getter.cancelled():
            return False, None
        return True, getter.result()

    async def _send(self, event: Event) -> None:
        for frame in self._frames(event):
            await self._emit(frame)

    async def _send_batched(self, events: list[Event]) -> None:
        pending: list[str] = []
        limit = self._max_frame_bytes or EVENT_BYTES
        for event in events:
            frames = self._frames(event)
            if isinstance(event, SessionReady):
                # Never in an array: it is how a client learns that arrays may follow.
                for frame in [*pack(pending, limit), *frames]:
                    await self._emit(frame)
                pending = []
            else:
                pending += frames
        for frame in pack(pending, limit):
            await self._emit(frame)

    def _frames(self, event: Event) -> list[str]:
        pieces = [event]
        if self._max_frame_bytes is not None and not isinstance(event, RunEvent):
            pieces = fit(event, self._max_frame_bytes)  # run events were fitted when logged
        if isinstance(event, TerminalEvent):
            # Noted before sending: the client may answer the moment it arrives.
            self.ended[event.run_id] = event.type
            for watcher in self._terminal_watchers:
                watcher(event.run_id)
        frames: list[str] = []
        for piece in pieces:
            encoded = self._encode(piece)
            frames += [encoded] if isinstance(encoded, str) else encoded or ()
        return frames

    async def _emit(self, frame: str) -> None:
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


def _can_wait(event: Event) -> bool:
    """Run events the client shows no text for and that end nothing: they may linger."""
    return isinstance(event, RunEvent) and not isinstance(event, TextDelta | TerminalEvent)
