"""A run inside its stored conversation: one run at a time, cancellable from anywhere.

The lock and the cancel flag live in the store, so they hold across connections, processes
and function instances; the running side watches the flag, which is how a `run.cancel`
sent to another invocation stops this one. The caller has claimed the lock (`claim`); this
module keeps it alive while the run goes and releases it before the terminal event.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Iterator

import structlog
from agents import Session

from agents_app.engine import Engine
from agents_app.graph import Graph
from agents_app.memory.store import ConversationStore, Lease, StoreUnavailable
from agents_app.protocol.events import (
    RunCancelled,
    RunCompleted,
    RunEvent,
    RunFailed,
    RunIds,
    RunStarted,
    TerminalEvent,
)
from agents_app.runs.approval import Paused
from agents_app.runs.execute import Emit, run_turn
from agents_app.runs.turn import Turn
from agents_app.stream.failures import MEMORY_DOWN as STORE_FAILURE

log = structlog.get_logger("agents_app.runs")
CANCEL_POLL_S = 0.25
# run.cancelled reasons of the double-texting strategies (DESIGN §3a).
SUPERSEDED, ROLLED_BACK = "superseded", "rolled_back"
MEMORY_DOWN = STORE_FAILURE.message


@dataclasses.dataclass
class RunEnd:
    """What the release at a run's end found: whether messages wait in its conversation
    (True until a release said otherwise, so nothing waiting is ever left unstarted)."""

    messages_wait: bool = True


async def run_in_conversation(
    turn: Turn,
    *,
    lease: Lease,
    engine: Engine,
    store: ConversationStore,
    emit: Emit,
    graph: Graph,
    timeout_s: float | None = None,
    ended: RunEnd | None = None,
) -> TerminalEvent:
    """Run `turn`, whose conversation lock the caller holds (`lease`); release it at the end."""
    cid, run_id = turn.conversation_id, turn.run_id
    # The terminal event waits until the lock is released: a client may send its next
    # message the moment it sees it, and must not find its own conversation busy.
    held: list[RunEvent] = []

    def gated(event: RunEvent) -> None:
        (held.append if isinstance(event, TerminalEvent) else emit)(event)

    session = None
    history_before: int | None = None
    last_agent: str | None = None
    try:
        agent = turn.agent or _resume_agent(graph, lease)
        # A client that holds the thread (AG-UI) sends it whole: no server-side history.
        session = None if turn.client_holds_history else store.session(cid)
        if session is not None:
            # Where this turn's items begin: a rollback takes the conversation back to here.
            history_before = lease.history_items
            if history_before is None:
                history_before = len(await session.get_items())
        watcher = _Watcher(store, cid, run_id, asyncio.current_task())
        try:
            terminal = await run_turn(
                dataclasses.replace(turn, agent=agent),
                engine=engine,
                emit=gated,
                session=session,
                timeout_s=timeout_s,
                graph=graph,
                pause=lambda paused: _keep(store, paused, engine.settings.approval_ttl_s),
            )
        finally:
            watcher.cancel()
        if isinstance(terminal, RunCompleted) and session is not None:
            last_agent = terminal.agent  # remembered by the release, in the same trip
        return terminal
    finally:
        if session is not None and history_before is not None and _rolled_back(held):
            with _logged(StoreUnavailable, "memory.rollback_failed"):
                await _forget_since(session, history_before)
        with _logged(StoreUnavailable, "memory.release_failed"):
            waiting = await store.release(cid, run_id, last_agent=last_agent)
            if ended is not None:
                ended.messages_wait = waiting
        if session is not None:
            await store.release_session(session)
        for event in held:
            emit(event)


async def _keep(store: ConversationStore, paused: Paused, ttl_s: float) -> None:
    """The paused run's state goes to the store before anyone can see it is paused."""
    await store.save_approval(paused.run_id, paused.conversation_id, paused.to_record(), ttl_s)


def _rolled_back(held: list[RunEvent]) -> bool:
    return any(isinstance(e, RunCancelled) and e.reason == ROLLED_BACK for e in held)


async def _forget_since(session: Session, count: int) -> None:
    """Take the conversation back to its first `count` items: the turn never happened."""
    extra = len(await session.get_items()) - count
    for _ in range(max(0, extra)):
        await session.pop_item()
    log.info("memory.rolled_back", items=max(0, extra))


def _resume_agent(graph: Graph, lease: Lease) -> str | None:
    if graph.resume != "last_agent":
        return None
    return lease.last_agent if lease.last_agent in graph.agents else None


class _Watcher:
    """Polls the cancel flag and keeps the lock alive while the run goes.

    A timer, not a task that sleeps: most runs end before the first poll is due, and a task
    made and cancelled for each of them costs more than the polls of the few that go on.
    """

    def __init__(
        self, store: ConversationStore, cid: str, run_id: str, run: asyncio.Task[object] | None
    ) -> None:
        self._store, self._cid, self._run_id, self._run = store, cid, run_id, run
        self._ticks = 0
        self._loop = asyncio.get_running_loop()
        self._poll: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = self._loop.call_later(CANCEL_POLL_S, self._due)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._poll is not None:
            self._poll.cancel()

    def _due(self) -> None:
        if self._run is None or self._run.done():
            return
        self._poll = self._loop.create_task(self._check(self._run))

    async def _check(self, run: asyncio.Task[object]) -> None:
        self._ticks += 1
        try:
            if (reason := await self._store.cancel_requested(self._cid, self._run_id)) is not None:
                run.cancel(reason)
                return
            if self._ticks % 8 == 0:
                await self._store.refresh(self._cid, self._run_id)
        except StoreUnavailable as exc:
            log.warning("memory.watch_failed", error=str(exc))
        if self._timer is not None:  # not cancelled meanwhile: the run goes on
            self._timer = self._loop.call_later(CANCEL_POLL_S, self._due)


def memory_down(turn: Turn, graph: Graph, emit: Emit, exc: Exception) -> TerminalEvent:
    """The store could not even be asked for the lock: say so as a whole (short) run."""
    log.warning("memory.unavailable", error=str(exc))
    ids = RunIds(run_id=turn.run_id, conversation_id=turn.conversation_id)
    emit(RunStarted(**ids, agent=turn.agent or graph.start, input=turn.text))
    terminal = RunFailed(
        **ids, code=STORE_FAILURE.code, message=STORE_FAILURE.message, retryable=True
    )
    emit(terminal)
    return terminal


@contextlib.contextmanager
def _logged(error: type[Exception], event: str) -> Iterator[None]:
    try:
        yield
    except error as exc:
        log.warning(event, error=str(exc))
