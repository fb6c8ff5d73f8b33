"""`Runs`: the runs of this process, and the way to any run in the store.

A run is a task of the process, not of a connection: the client that started it may go
away and come back (or another may join) while it goes on. `start` claims the conversation,
`follow` replays and follows a run here or elsewhere, `cancel` stops one wherever it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import structlog

from agents_app.engine import Engine
from agents_app.graph import Graph
from agents_app.memory.store import RunRecord, StoreUnavailable
from agents_app.protocol.events import RunCancelled, RunIds, RunStarted, TerminalEvent
from agents_app.runs.conversation import memory_down, run_in_conversation
from agents_app.runs.follow import follow_logged
from agents_app.runs.log import RunLog, Subscriber
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
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local: dict[str, Run] = {}

    async def start(
        self,
        turn: Turn,
        *,
        graph: Graph | None = None,
        timeout_s: float | None = None,
    ) -> Run | None:
        """Start `turn` as a run of this process; None when its conversation has one going."""
        graph = graph or self.engine.graph  # one graph for the whole run, even across a reload
        store = self.engine.store
        run = Run(turn, RunLog(turn.run_id, turn.conversation_id, store))
        try:
            claimed = await store.claim(turn.conversation_id, turn.run_id)
        except StoreUnavailable as exc:
            run.task = asyncio.create_task(self._unavailable(run, graph, exc))
        else:
            if not claimed:
                return None
            run.task = asyncio.create_task(
                self._drive(run, graph, timeout_s), name=f"run:{turn.run_id}"
            )
        run.log.start()
        self._local[turn.run_id] = run
        run.task.add_done_callback(lambda _: self._local.pop(turn.run_id, None))
        return run

    async def _drive(self, run: Run, graph: Graph, timeout_s: float | None) -> TerminalEvent:
        engine = self.engine
        run.began = True
        with structlog.contextvars.bound_contextvars(
            run_id=run.run_id, conversation_id=run.turn.conversation_id
        ):
            if run.cancel_reason is not None:
                return await self._stopped_before_it_began(run, graph, run.cancel_reason)
            try:
                return await run_in_conversation(
                    run.turn,
                    engine=engine,
                    store=engine.store,
                    emit=run.log.put,
                    graph=graph,
                    timeout_s=timeout_s,
                )
            finally:
                # The run's task ends once its terminal event is logged and delivered.
                await run.log.close()

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
        try:
            return await self.engine.store.find_run(run_id=run_id, conversation_id=conversation_id)
        except StoreUnavailable as exc:
            log.warning("runs.find_failed", error=str(exc))
            return None

    async def follow(self, record: RunRecord, subscriber: Subscriber, after_seq: int = 0) -> bool:
        """Replay `record`'s events after `after_seq`, then follow it live to its terminal event.

        True once the terminal event was delivered; False if the subscriber went away or the
        run could not be followed to its end.
        """
        run = self._local.get(record.run_id)
        if run is not None:
            done = run.log.subscribe(subscriber, after_seq)
            try:
                return await done
            finally:
                run.log.unsubscribe(subscriber)
        return await follow_logged(self.engine.store, record, subscriber, after_seq)

    async def cancel(
        self, *, run_id: str | None = None, conversation_id: str | None = None, reason: str
    ) -> bool:
        """Stop a run here, or flag it in the store for the process running it."""
        run = self._local.get(run_id) if run_id else None
        if run is None and conversation_id is not None:
            run = self.running_in(conversation_id)
        if run is not None and run.cancel(reason):
            return True
        if conversation_id is None and run_id is not None:
            record = await self.find(run_id=run_id)
            conversation_id = record.conversation_id if record and record.running else None
        if conversation_id is None:
            return False
        try:
            return await self.engine.store.request_cancel(conversation_id, reason)
        except StoreUnavailable as exc:
            log.warning("memory.cancel_failed", error=str(exc))
            return False

    async def aclose(self) -> None:
        """Cancel every run of this process (shutdown) and wait for their terminal events."""
        runs = list(self._local.values())
        for run in runs:
            run.cancel("server shutting down")
        tasks = [run.task for run in runs]
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
