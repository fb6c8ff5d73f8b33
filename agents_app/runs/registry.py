"""`Runs`: the runs of this process, and the way to any run in the store.

A run is a task of the process, not of a connection: the client that started it may go
away and come back (or another may join) while it goes on. `start` claims the conversation,
`follow` replays and follows a run here or elsewhere (or waits for a queued message to
start), `cancel` stops one wherever it runs, `enqueue` and `pump` keep a conversation's
waiting messages going.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from agents_app.engine import Engine
from agents_app.graph import Graph
from agents_app.memory.store import Lease, RunRecord, StoreUnavailable
from agents_app.observe.run_meter import RunMeter
from agents_app.protocol.events import RunCancelled, RunIds, RunStarted, TerminalEvent
from agents_app.runs.conversation import RunEnd, memory_down, run_in_conversation
from agents_app.runs.follow import follow_logged
from agents_app.runs.log import RunLog, Subscriber
from agents_app.runs.queue import (
    LOST_AFTER_S,
    QUEUE_POLL_S,
    from_record,
    take_off_queue,
    to_record,
)
from agents_app.runs.turn import Turn

log = structlog.get_logger("agents_app.runs")


@dataclass(eq=False)
class Run:
    turn: Turn
    log: RunLog
    task: asyncio.Task[TerminalEvent | None] = field(init=False)
    began: bool = False  # its task has taken its first step
    cancel_reason: str | None = None

    @property
    def run_id(self) -> str:
        return self.turn.run_id

    def cancel(self, reason: str) -> bool:
        """Stop the run; it still ends with exactly one terminal event. False if it is over.

        A task cancelled before its first step would never run its own clean-up (no
        terminal event, the conversation left locked), so such a run is only told to stop,
        and does so the moment it begins.
        """
        if self.task.done():
            return False
        if self.began:
            self.task.cancel(reason)
        else:
            self.cancel_reason = self.cancel_reason or reason
        return True


class Runs:
    def __init__(self, engine: Engine, *, start_queued: bool = True) -> None:
        self.engine = engine
        self._local: dict[str, Run] = {}
        # A long-lived process starts a conversation's next waiting message when a run of
        # its own ends. A Cloud Function must not: it may be frozen the moment its
        # invocation returns, so there the client waiting for the message starts it.
        self._start_queued = start_queued
        self._ended = asyncio.Event()  # set (and replaced) whenever a run here ends
        self._pumps: set[asyncio.Task[None]] = set()

    async def start(
        self,
        turn: Turn,
        *,
        graph: Graph | None = None,
        timeout_s: float | None = None,
        queued: bool = False,
    ) -> Run | None:
        """Start `turn` as a run of this process; None when its conversation has one going
        (or has messages waiting before it)."""
        graph = graph or self.engine.graph  # one graph for the whole run, even across a reload
        store = self.engine.store
        meter = RunMeter(self.engine.metrics)
        run = Run(turn, RunLog(turn.run_id, turn.conversation_id, store, watch=meter.see))
        try:
            lease = await store.claim(turn.conversation_id, turn.run_id)
        except StoreUnavailable as exc:
            if queued:
                raise  # it waits on in the queue, for the next try
            run.task = asyncio.create_task(self._unavailable(run, graph, exc))
        else:
            if lease is None:
                return None
            run.task = asyncio.create_task(
                self._drive(run, lease, graph, timeout_s), name=f"run:{turn.run_id}"
            )
        run.log.start()
        self._local[turn.run_id] = run
        run.task.add_done_callback(lambda _: self._local.pop(turn.run_id, None))
        return run

    async def _drive(
        self, run: Run, lease: Lease, graph: Graph, timeout_s: float | None
    ) -> TerminalEvent:
        engine = self.engine
        run.began = True
        with structlog.contextvars.bound_contextvars(
            run_id=run.run_id, conversation_id=run.turn.conversation_id
        ):
            if run.cancel_reason is not None:
                return await self._stopped_before_it_began(run, graph, run.cancel_reason)
            ended = RunEnd()
            try:
                return await run_in_conversation(
                    run.turn,
                    lease=lease,
                    engine=engine,
                    store=engine.store,
                    emit=run.log.put,
                    graph=graph,
                    timeout_s=timeout_s,
                    ended=ended,
                )
            finally:
                # The run's task ends once its terminal event is logged and delivered.
                await run.log.close()
                self._next(run.turn.conversation_id, waiting=ended.messages_wait)

    def _next(self, conversation_id: str, *, waiting: bool = True) -> None:
        """A run here ended: wake those waiting here, and start the next message (if any
        waits: the release that ended the run said so)."""
        ended, self._ended = self._ended, asyncio.Event()
        ended.set()
        if self._start_queued and waiting:
            task = asyncio.create_task(self._pump_quietly(conversation_id))
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    async def _pump_quietly(self, conversation_id: str) -> None:
        try:
            await self.pump(conversation_id)
        except StoreUnavailable as exc:
            # The message waits on: its client (or the next run to end) starts it.
            log.warning("queue.start_failed", conversation_id=conversation_id, error=str(exc))

    async def enqueue(self, turn: Turn, *, front: bool = False) -> int | None:
        """Queue `turn` behind its conversation's runs; its position, None when the queue is
        full. At the `front` (a message superseding the running run) there is no cap."""
        cap = None if front else self.engine.settings.max_queue
        return await self.engine.store.enqueue(
            turn.conversation_id, turn.run_id, to_record(turn), cap=cap, front=front
        )

    async def pump(self, conversation_id: str, *, timeout_s: float | None = None) -> Run | None:
        """Start the conversation's first waiting message here, if nothing runs there."""
        store = self.engine.store
        waiting = await store.queue(conversation_id)
        if not waiting:
            return None
        run_id, record = waiting[0]
        try:
            turn = from_record(record)
        except ValueError as exc:
            # Written by another version: it cannot run, and must not block the others.
            await store.dequeue(conversation_id, run_id)
            log.warning("queue.unreadable_dropped", run_id=run_id, error=str(exc))
            return None
        run = await self.start(turn, timeout_s=timeout_s, queued=True)
        if run is not None:
            log.info("queue.started", run_id=run_id, conversation_id=conversation_id)
        return run

    async def _stopped_before_it_began(self, run: Run, graph: Graph, reason: str) -> TerminalEvent:
        ids = RunIds(run_id=run.run_id, conversation_id=run.turn.conversation_id)
        run.log.put(RunStarted(**ids, agent=run.turn.agent or graph.start, input=run.turn.text))
        with contextlib.suppress(StoreUnavailable):
            await self.engine.store.release(run.turn.conversation_id, run.run_id)
        terminal = RunCancelled(**ids, reason=reason)
        run.log.put(terminal)
        await run.log.close()
        return terminal

    async def _unavailable(self, run: Run, graph: Graph, exc: Exception) -> TerminalEvent:
        run.began = True
        terminal = memory_down(run.turn, graph, run.log.put, exc)
        await run.log.close()
        return terminal

    @property
    def active(self) -> list[str]:
        """Ids of the runs going on in this process."""
        return list(self._local)

    def local(self, run_id: str) -> Run | None:
        return self._local.get(run_id)

    def running_in(self, conversation_id: str) -> Run | None:
        return next(
            (run for run in self._local.values() if run.turn.conversation_id == conversation_id),
            None,
        )

    async def find(
        self, *, run_id: str | None = None, conversation_id: str | None = None
    ) -> RunRecord | None:
        """A run to join: by id, or a conversation's running run, else its last one."""
        if run_id is not None and (run := self._local.get(run_id)) is not None:
            return RunRecord(run_id, run.turn.conversation_id, True)
        if run_id is None and conversation_id and (run := self.running_in(conversation_id)):
            return RunRecord(run.run_id, conversation_id, True)
        store = self.engine.store
        try:
            found = await store.find_run(run_id=run_id, conversation_id=conversation_id)
            if found is None and run_id is not None:
                waits_in = await store.queued_in(run_id)
                if waits_in is not None:
                    return RunRecord(run_id, waits_in, running=True, queued=True)
            return found
        except StoreUnavailable as exc:
            log.warning("runs.find_failed", error=str(exc))
            return None

    async def follow(
        self,
        record: RunRecord,
        subscriber: Subscriber,
        after_seq: int = 0,
        *,
        moved: Callable[[int], None] | None = None,
        deadline: float | None = None,
    ) -> bool:
        """Replay `record`'s events after `after_seq`, then follow it live to its terminal event.

        A queued message is waited for first (`moved(position)` as its place changes; a run
        this follower starts itself ends by `deadline`, on the loop's clock). True once the
        terminal event was delivered; False if the subscriber went away or the run could not
        be followed to its end.
        """
        if record.queued and not await self._until_started(record, subscriber, moved, deadline):
            return False
        run = self._local.get(record.run_id)
        if run is not None:
            done = run.log.subscribe(subscriber, after_seq)
            try:
                return await done
            finally:
                run.log.unsubscribe(subscriber)
        return await follow_logged(self.engine.store, record, subscriber, after_seq)

    async def _until_started(
        self,
        record: RunRecord,
        subscriber: Subscriber,
        moved: Callable[[int], None] | None,
        deadline: float | None,
    ) -> bool:
        """Wait for a queued message to become a run (here or anywhere); start the first
        waiting message whenever the conversation is free. False if it is lost."""
        store, cid, run_id = self.engine.store, record.conversation_id, record.run_id
        loop = asyncio.get_running_loop()
        position: int | None = None
        missing_since: float | None = None
        waiting_here = self.engine.metrics.queue_waiting
        waiting_here.inc()
        try:
            while not subscriber.closed:
                if run_id in self._local:
                    return True
                ended = self._ended
                waiting = [queued for queued, _ in await store.queue(cid)]
                if run_id in waiting:
                    missing_since = None
                    if moved is not None and position != (now := waiting.index(run_id) + 1):
                        position = now
                        moved(now)
                    holder = await store.find_run(conversation_id=cid)
                    if holder is None or not holder.running:
                        left = None if deadline is None else max(0.0, deadline - loop.time())
                        # Shielded: a follower that goes away mid-claim must not lose it.
                        if await asyncio.shield(self.pump(cid, timeout_s=left)) is not None:
                            continue
                elif await store.find_run(run_id=run_id) is not None:
                    return True  # started elsewhere, or cancelled while it waited
                else:
                    missing_since = missing_since or time.monotonic()
                    if time.monotonic() - missing_since > LOST_AFTER_S:
                        log.warning("queue.message_lost", run_id=run_id)
                        return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended.wait(), QUEUE_POLL_S)
        except StoreUnavailable as exc:
            log.warning("queue.follow_failed", run_id=run_id, error=str(exc))
        finally:
            waiting_here.dec()
        return False

    async def cancel(
        self, *, run_id: str | None = None, conversation_id: str | None = None, reason: str
    ) -> bool:
        """Stop a run here, or flag it in the store for the process running it; a message
        still waiting is taken off its queue."""
        store = self.engine.store
        run = self._local.get(run_id) if run_id else None
        if run is None and conversation_id is not None:
            run = self.running_in(conversation_id)
        if run is not None and run.cancel(reason):
            return True
        start_agent = self.engine.graph.start
        if run is None and run_id and await take_off_queue(store, run_id, start_agent, reason):
            return True
        if conversation_id is None and run_id is not None:
            record = await self.find(run_id=run_id)
            conversation_id = record.conversation_id if record and record.running else None
        if conversation_id is None:
            return False
        try:
            return await store.request_cancel(conversation_id, reason)
        except StoreUnavailable as exc:
            log.warning("memory.cancel_failed", error=str(exc))
            return False

    async def aclose(self) -> None:
        """Cancel every run of this process (shutdown) and wait for their terminal events.
        Waiting messages stay queued for whichever instance runs the conversation next."""
        self._start_queued = False
        # Not cancelled: one stopped between its claim and its run would lose the message.
        await asyncio.gather(*self._pumps, return_exceptions=True)
        runs = list(self._local.values())
        for run in runs:
            run.cancel("server shutting down")
        tasks = [run.task for run in runs]
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
