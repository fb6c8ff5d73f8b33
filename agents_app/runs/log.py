"""`RunLog`: one run's events on their way out — coalesced, numbered, logged, published.

The run puts events and moves on; it never waits for the store or a network. One writer task
takes what is pending: whatever piled up while the previous batch was being delivered is merged
(consecutive deltas of a message become one), cut to fit a frame, numbered (`seq`: gap-free,
what is logged is what every client sees) and handed to the live subscribers.

Woken, the writer first lets a burst (a model streaming faster than the loop turns) go on
for up to `SETTLE_TURNS` loop turns while events keep coming: every batch costs a wake-up,
a publish and a frame per client, a loop turn costs microseconds. A paced model's delta goes
out after one turn. The writer waits for its subscribers (at most `PACE_S`), so a slow
client gets fewer, larger events instead of a backlog — and a stalled one cannot stall the
log, which is written for the clients that are not listening yet.

Appending to the store is the same idea one step aside: one append at a time, lingering
`LINGER_S` to take everything numbered meanwhile, so a run costs a few store writes, not one
per batch (a follower on another instance reads the log a moment later; followers here get
events straight from the writer). Closing the log flushes at once. A store that is down
keeps the events for the next append: the log stays gap-free.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

import structlog

from agents_app.memory.store import ConversationStore, LoggedEvent, SeqTaken, StoreUnavailable
from agents_app.protocol.encoders import scrub_event
from agents_app.protocol.events import RunEvent, TerminalEvent
from agents_app.stream.coalesce import coalesce
from agents_app.stream.limits import EVENT_BYTES, fit

log = structlog.get_logger("agents_app.runs.log")
PACE_S = 1.0
LINGER_S = 0.05
# At most this many loop turns a woken writer waits while events keep arriving; it goes at
# once when a turn brings none (a paced model: each delta still goes out as it comes).
SETTLE_TURNS = 8


class Subscriber(Protocol):
    """A client following runs: takes numbered run events, in order."""

    @property
    def closed(self) -> bool: ...

    def deliver(self, events: Sequence[RunEvent]) -> asyncio.Future[None]:
        """Queue `events`; the future resolves once they are sent (or the client is gone)."""

    def prime(self, events: Sequence[RunEvent]) -> None:
        """Events the client saw before it (re)joined: for encoders that keep state."""


def is_terminal(event: RunEvent) -> bool:
    return isinstance(event, TerminalEvent)


class RunLog:
    def __init__(
        self,
        run_id: str,
        conversation_id: str,
        store: ConversationStore,
        *,
        watch: Callable[[RunEvent], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self._watch = watch  # sees every event as the run emits it (metrics)
        self.conversation_id = conversation_id
        self._store = store
        self._pending: list[RunEvent] = []  # put, not yet taken by the writer
        self._wake: asyncio.Future[None] | None = None  # the idle writer waits on it
        self._closing = False
        self._seq = 0
        # Everything numbered so far: a joiner on this process replays from here.
        self.history: list[RunEvent] = []
        self._unlogged: list[LoggedEvent] = []  # numbered and encoded, not yet in the store
        self._appender: asyncio.Task[None] | None = None
        self._flushing = False  # closing: append at once, no more lingering
        self._lingering: asyncio.Future[None] | None = None
        self._subscribers: dict[Subscriber, asyncio.Future[bool]] = {}
        self.finished = False  # the terminal event is numbered and published
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> RunLog:
        self._writer = asyncio.create_task(self._write_loop(), name=f"log:{self.run_id}")
        return self

    def put(self, event: RunEvent) -> None:
        if self._watch is not None:
            self._watch(event)
        self._pending.append(event)
        self._wake_writer()

    def _wake_writer(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    def subscribe(self, subscriber: Subscriber, after_seq: int = 0) -> asyncio.Future[bool]:
        """Replay what is numbered after `after_seq`, then everything to come.

        The future is True once the terminal event was delivered, False if the subscriber
        went away first. Replay and registration happen in one step, so nothing published
        in between is lost or doubled.
        """
        if after_seq:
            subscriber.prime(self.history[:after_seq])
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        backlog = self.history[after_seq:]
        sent = subscriber.deliver(backlog) if backlog else None
        if self.finished:
            _settle_when(sent, done)
        else:
            self._subscribers[subscriber] = done
        return done

    def unsubscribe(self, subscriber: Subscriber) -> None:
        done = self._subscribers.pop(subscriber, None)
        if done is not None and not done.done():
            done.set_result(False)

    async def close(self) -> None:
        """Wait until everything put is logged and delivered (the writer's last batch)."""
        if self._writer is None:
            return
        self._closing = True
        self._wake_writer()
        await asyncio.shield(self._writer)
        self._flushing = True
        if self._lingering is not None and not self._lingering.done():
            self._lingering.set_result(None)
        # The last events reach the store before the run counts as over (an instance that
        # returns may be frozen; a joiner elsewhere reads the store).
        while self._appender is not None and not self._appender.done():
            await asyncio.shield(self._appender)
        if self._unlogged:
            await self._append()

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._pending and not self._closing:
                self._wake = loop.create_future()
                await self._wake
            await self._let_burst_finish()
            events, self._pending = self._pending, []
            if events:
                await self._publish(self._number(events))
            if self._closing and not self._pending:
                self._settle_all(False)
                return

    async def _let_burst_finish(self) -> None:
        for _ in range(SETTLE_TURNS):
            if self._closing:
                return
            seen = len(self._pending)
            await asyncio.sleep(0)
            if len(self._pending) == seen:
                return

    def _number(self, events: list[RunEvent]) -> list[RunEvent]:
        numbered: list[RunEvent] = []
        for event in coalesce(events):
            # Scrubbed before it is logged: the store holds nothing a client may not see.
            clean = scrub_event(event)
            clean.seq = self._seq + 1
            # The row the store keeps is also how the event's size is known: one encoding.
            row = clean.model_dump_json()
            pieces = [(clean, row)] if _fits(row) else self._cut(clean)
            for piece, encoded in pieces:
                self._seq += 1
                self._unlogged.append((self._seq, encoded))
                numbered.append(piece)
        return numbered

    def _cut(self, event: RunEvent) -> list[tuple[RunEvent, str]]:
        """`event` in pieces that fit a frame, numbered from the next seq on."""
        pieces: list[tuple[RunEvent, str]] = []
        for seq, piece in enumerate(fit(event, EVENT_BYTES), start=self._seq + 1):
            assert isinstance(piece, RunEvent)  # fit keeps the event's type
            piece.seq = seq
            pieces.append((piece, piece.model_dump_json()))
        return pieces

    async def _publish(self, events: list[RunEvent]) -> None:
        if self._appender is None or self._appender.done():
            self._appender = asyncio.create_task(self._append_while_pending())
        self.history.extend(events)
        finished = any(is_terminal(event) for event in events)
        self.finished = self.finished or finished
        subscribers = list(self._subscribers)
        waits = {subscriber.deliver(events): subscriber for subscriber in subscribers}
        if waits:
            await asyncio.wait(waits, timeout=PACE_S)
        for subscriber in subscribers:
            if subscriber.closed:
                self.unsubscribe(subscriber)
        if finished:
            for sent, subscriber in waits.items():
                done = self._subscribers.pop(subscriber, None)
                if done is not None:
                    _settle_when(sent, done)

    async def _append_while_pending(self) -> None:
        loop = asyncio.get_running_loop()
        while self._unlogged:
            if not self._flushing:
                # A future and a timer, not `wait_for`: that makes a task per wait.
                self._lingering = lingering = loop.create_future()
                timer = loop.call_later(LINGER_S, _settle, lingering)
                try:
                    await lingering
                finally:
                    timer.cancel()
            if not await self._append():
                return

    async def _append(self) -> bool:
        """Append what is numbered and not logged yet; False if the store is down."""
        rows = list(self._unlogged)
        try:
            await self._store.append_events(self.run_id, self.conversation_id, rows)
        except StoreUnavailable as exc:
            # Kept for the next append: the log stays gap-free once the store is back.
            log.warning("run_log.append_failed", run_id=self.run_id, error=str(exc))
            return False
        except SeqTaken:
            log.error("run_log.seq_taken", run_id=self.run_id, seq=rows[0][0])
        del self._unlogged[: len(rows)]
        return True

    def _settle_all(self, value: bool) -> None:
        for done in self._subscribers.values():
            if not done.done():
                done.set_result(value)
        self._subscribers.clear()


def _fits(row: str) -> bool:
    # A character is at most 4 bytes in UTF-8: most rows are known to fit without encoding.
    return len(row) * 4 <= EVENT_BYTES or len(row.encode()) <= EVENT_BYTES


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _settle_when(sent: asyncio.Future[None] | None, done: asyncio.Future[bool]) -> None:
    def settle(_: object = None) -> None:
        if not done.done():
            done.set_result(True)

    if sent is None or sent.done():
        settle()
    else:
        sent.add_done_callback(settle)
