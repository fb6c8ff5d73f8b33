"""Running a turn the way the service does (Runs: claim, run, log), collecting its events."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from agents_app.engine import Engine
from agents_app.memory.store import ConversationStore, RunRecord
from agents_app.protocol.events import RunEvent, TerminalEvent
from agents_app.runs.registry import Runs
from agents_app.runs.turn import Turn


class Collector:
    """A subscriber that keeps what it is sent."""

    closed = False

    def __init__(self) -> None:
        self.events: list[RunEvent] = []
        self.streaming = asyncio.Event()

    def deliver(self, events: Sequence[RunEvent]) -> asyncio.Future[None]:
        self.events.extend(events)
        if any(event.type == "text.delta" for event in events):  # type: ignore[attr-defined]
            self.streaming.set()
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sent.set_result(None)
        return sent

    def prime(self, events: Sequence[RunEvent]) -> None:
        pass

    def append(self, event: RunEvent) -> None:
        self.deliver([event])


async def run_conversation_turn(
    turn: Turn, *, engine: Engine, store: ConversationStore, emit: Any
) -> TerminalEvent | None:
    """Start `turn` as a run over `store`, collect what it sends; None when busy."""
    engine._store = store
    runs = Runs(engine)
    run = await runs.start(turn)
    if run is None:
        return None
    collector = emit if isinstance(emit, Collector) else Collector()
    follow = asyncio.ensure_future(
        runs.follow(RunRecord(run.run_id, turn.conversation_id, True), collector)
    )
    try:
        terminal = await run.task
    finally:
        await asyncio.gather(follow, return_exceptions=True)
        if not isinstance(emit, Collector):
            for event in collector.events:
                emit(event)
    return terminal
