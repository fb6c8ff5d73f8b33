"""Run routing examples through the real run path and score where each one went first.

"Where it went" is the first ``agent.switched.to_agent`` of the run, or the start agent
when it answered itself. A run is stopped as soon as that is known: with a real model the
specialist's answer would only cost tokens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from agents_app.authoring.routing_examples import RoutingExample
from agents_app.engine import Engine
from agents_app.protocol.events import AgentSwitched, RunEvent, RunFailed
from agents_app.runs.execute import run_turn
from agents_app.runs.turn import Turn

_DECIDED = "routing decided"


@dataclass(frozen=True, slots=True)
class Outcome:
    example: RoutingExample
    got: str | None  # None: the run failed before routing
    error: str | None = None

    @property
    def correct(self) -> bool:
        return self.got == self.example.expect


@dataclass(frozen=True, slots=True)
class AgentScore:
    agent: str
    total: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 1.0


async def first_route(engine: Engine, example: RoutingExample, *, timeout_s: float = 60) -> Outcome:
    """Where ``example.input`` goes first; a failed run is an outcome with an error."""
    graph = engine.graph  # one graph for the whole evaluation step
    first: list[str] = []

    def on_event(event: RunEvent) -> None:
        if isinstance(event, AgentSwitched) and not first:
            first.append(event.to_agent)
            task.cancel(_DECIDED)

    turn = Turn(conversation_id="eval-routing", text=example.input)
    task = asyncio.create_task(
        run_turn(turn, engine=engine, emit=on_event, timeout_s=timeout_s, graph=graph)
    )
    try:
        terminal = await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if not first or (current is not None and current.cancelling()):
            raise  # we are being cancelled, not the run we stopped
        return Outcome(example, first[0])
    if first:
        return Outcome(example, first[0])
    if isinstance(terminal, RunFailed):
        return Outcome(example, None, f"run failed: {terminal.code}: {terminal.message}")
    return Outcome(example, graph.start)


async def evaluate(
    engine: Engine, examples: Sequence[RoutingExample], *, concurrency: int = 4
) -> list[Outcome]:
    """Every example's outcome, in the examples' order."""
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(example: RoutingExample) -> Outcome:
        async with limit:
            return await first_route(engine, example)

    return list(await asyncio.gather(*(one(e) for e in examples)))


def scores(outcomes: Sequence[Outcome]) -> list[AgentScore]:
    """Per expected agent, in order of first appearance in the examples."""
    totals: dict[str, list[int]] = {}
    for outcome in outcomes:
        counts = totals.setdefault(outcome.example.expect, [0, 0])
        counts[0] += 1
        counts[1] += outcome.correct
    return [AgentScore(agent, total, correct) for agent, (total, correct) in totals.items()]


def overall(outcomes: Sequence[Outcome]) -> AgentScore:
    return AgentScore("overall", len(outcomes), sum(o.correct for o in outcomes))


def report(outcomes: Sequence[Outcome]) -> str:
    """The accuracy table, then every miss with where it is in the examples file."""
    rows = [*scores(outcomes), overall(outcomes)]
    width = max(len("agent"), *(len(r.agent) for r in rows))
    lines = [f"{'agent':<{width}}  examples  correct  accuracy"]
    for i, row in enumerate(rows):
        if i == len(rows) - 1:
            lines.append("-" * (width + 29))
        lines.append(
            f"{row.agent:<{width}}  {row.total:>8}  {row.correct:>7}  {row.accuracy:>8.0%}"
        )
    misses = [o for o in outcomes if not o.correct]
    if misses:
        lines += ["", "misses:"]
        for miss in misses:
            got = miss.got if miss.got is not None else miss.error
            lines.append(
                f"  {miss.example.where}: {miss.example.input!r}: "
                f"expected {miss.example.expect}, got {got}"
            )
    return "\n".join(lines)


def below(outcomes: Sequence[Outcome], min_accuracy: float) -> list[AgentScore]:
    """Rows (per agent, and overall) under the threshold."""
    return [row for row in (*scores(outcomes), overall(outcomes)) if row.accuracy < min_accuracy]
