"""Executing a turn: the SDK's streamed run → translator → protocol events, ending exactly once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from agents import Runner, Session
from agents.result import RunResultStreaming

from agents_app.engine import Engine, TurnContext
from agents_app.graph import Graph
from agents_app.guardrails.turn import TurnGuard
from agents_app.observe import tracing
from agents_app.protocol.events import (
    ApprovalRequested,
    RunCancelled,
    RunCompleted,
    RunEvent,
    RunFailed,
    RunIds,
    RunInterrupted,
    RunStarted,
    TerminalEvent,
    TextDelta,
    now_ms,
)
from agents_app.runs.approval import Paused, pending_calls, restore, snapshot
from agents_app.runs.turn import Turn
from agents_app.stream.failures import Failure, classify
from agents_app.stream.translator import Translator
from agents_app.stream.usage import run_usage

Emit = Callable[[RunEvent], None]
# Called when the run stops for approval, before its terminal event: keep what resumes it.
Pause = Callable[[Paused], Awaitable[None]]
log = structlog.get_logger("agents_app.turn")
OUT_OF_TIME = Failure("timeout", "The run reached its time limit before finishing.", retryable=True)


async def run_turn(
    turn: Turn,
    *,
    engine: Engine,
    emit: Emit,
    session: Session | None = None,
    timeout_s: float | None = None,
    graph: Graph | None = None,
    pause: Pause | None = None,
) -> TerminalEvent:
    """Run the turn, emitting every event; the terminal event is emitted and returned.

    Cancelling the task running this emits `run.cancelled` (the cancel message is the reason)
    and re-raises, so callers' structured cancellation still works.
    """
    graph = graph or engine.graph
    if engine.tracing is None:
        return await _run_turn(turn, engine, emit, session, timeout_s, graph, pause, None)
    start = graph.id_of(graph.agent(turn.agent))
    with engine.tracing.run(
        run_id=turn.run_id,
        conversation_id=turn.conversation_id,
        agent=start,
        traceparent=turn.traceparent,
        agent_ids={agent.name: agent_id for agent_id, agent in graph.agents.items()},
    ) as root:
        first_delta: list[float] = []
        began = time.monotonic()

        def seen(event: RunEvent) -> None:
            if not first_delta and isinstance(event, TextDelta):
                first_delta.append(time.monotonic())
            emit(event)

        def close(outcome: str, code: str | None = None) -> None:
            ms = round((first_delta[0] - began) * 1000) if first_delta else None
            tracing.ended(root, outcome, code=code, first_delta_ms=ms)

        try:
            terminal = await _run_turn(turn, engine, seen, session, timeout_s, graph, pause, root)
        except asyncio.CancelledError:
            close("cancelled")
            raise
        close(terminal.type.removeprefix("run."), getattr(terminal, "code", None))
        return terminal


async def _run_turn(
    turn: Turn,
    engine: Engine,
    emit: Emit,
    session: Session | None,
    timeout_s: float | None,
    graph: Graph,
    pause: Pause | None,
    root: tracing.RunSpan | None,
) -> TerminalEvent:
    ids = RunIds(run_id=turn.run_id, conversation_id=turn.conversation_id)
    with structlog.contextvars.bound_contextvars(
        run_id=turn.run_id, conversation_id=turn.conversation_id
    ):
        started_at = time.monotonic()
        # One graph for the whole run (default: the engine's current one): a config reload
        # mid-run must not change which agents this run knows.
        agent = graph.agent(turn.agent)
        context = TurnContext(secrets=engine.secrets, judge_run_config=engine.judge_run_config())
        translator = Translator(
            **ids,
            agent=agent,
            agent_id_of=graph.id_of,
            tool_errors=context.tool_errors,
            output_limit=engine.settings.tool_output_limit,
            tool_trips=context.tool_trips,
            server_of=graph.mcp_server_of,
        )
        guard = TurnGuard(ids, graph.guardrails, start=translator.agent_id, agent_id_of=graph.id_of)
        resumed_from = turn.resume.paused.run_id if turn.resume else None
        emit(
            RunStarted(
                **ids,
                agent=translator.agent_id,
                input=turn.text,
                resumed_from=resumed_from,
                trace_id=None if root is None else root.trace_id,
            )
        )
        log.info("run.started", agent=translator.agent_id, resumed_from=resumed_from)
        result: RunResultStreaming | None = None
        terminal: TerminalEvent
        deadline = asyncio.timeout(timeout_s)
        try:
            async with deadline:
                run_input: Any = turn.model_input()
                if turn.resume is not None:
                    run_input, refused = await restore(turn.resume, graph, context)
                    context.tool_errors.update(refused)
                    for call in turn.resume.paused.pending:
                        translator.expect_call(call.call_id, call.agent, call.tool)
                result = Runner.run_streamed(
                    agent,
                    run_input,
                    context=context,
                    max_turns=engine.settings.max_turns,
                    run_config=engine.run_config(
                        graph,
                        trace_id=None if root is None else root.sdk_trace_id,
                        group_id=turn.conversation_id,
                    ),
                    session=session,
                )
                more_ready = _more_ready(result)
                async for event in result.stream_events():
                    events = translator.translate(event)
                    if not more_ready():
                        events += translator.flush()  # the burst is over: its text goes
                    for out in guard.passing(events, result):
                        emit(out)
                for out in [*guard.passing(translator.flush(), result), *guard.finish()]:
                    emit(out)
                if result.interruptions:
                    terminal = await _paused(turn, result, graph, emit, pause, engine)
                    emit(terminal)
                    return terminal
            terminal = RunCompleted(
                **ids,
                agent=graph.id_of(result.last_agent),
                final_output="" if result.final_output is None else str(result.final_output),
                usage=run_usage(result.context_wrapper.usage),
                duration_ms=_ms_since(started_at),
            )
        except asyncio.CancelledError as exc:
            reason = str(exc.args[0]) if exc.args else "cancelled"
            terminal = RunCancelled(**ids, reason=reason)
            emit(terminal)
            log.info("run.cancelled", reason=reason, duration_ms=_ms_since(started_at))
            raise
        except Exception as exc:
            expired = isinstance(exc, TimeoutError) and deadline.expired()
            guarded = None if expired else guard.failed(exc)
            if guarded is not None:
                said, failure = guarded
                for out in said:
                    emit(out)
            else:
                # Text the model sent before it failed is shown, as it would have been.
                for out in guard.gated(translator.flush()):
                    emit(out)
                failure = OUT_OF_TIME if expired else classify(exc)
            terminal = RunFailed(
                **ids, code=failure.code, message=failure.message, retryable=failure.retryable
            )
            log.warning(
                "run.failed",
                code=failure.code,
                error=type(exc).__name__,
                detail=str(exc)[:500],
                exc_info=failure.code == "internal",
            )
        finally:
            if result is not None and not result.is_complete:
                result.cancel()
        emit(terminal)
        if isinstance(terminal, RunCompleted):
            log.info(
                "run.completed",
                agent=terminal.agent,
                duration_ms=terminal.duration_ms,
                **terminal.usage.model_dump(),
            )
        return terminal


async def _paused(
    turn: Turn,
    result: RunResultStreaming,
    graph: Graph,
    emit: Emit,
    pause: Pause | None,
    engine: Engine,
) -> RunInterrupted:
    """Announce each call that waits, keep the state that resumes them: `run.interrupted`."""
    ids = RunIds(run_id=turn.run_id, conversation_id=turn.conversation_id)
    pending = pending_calls(result, graph)
    expires_at = now_ms() + round(engine.settings.approval_ttl_s * 1000)
    if pause is None:
        raise RuntimeError("a tool needs approval, and this run cannot be paused")
    await pause(
        Paused(
            run_id=turn.run_id,
            conversation_id=turn.conversation_id,
            config=graph.fingerprint,
            expires_at=expires_at,
            pending=pending,
            state=snapshot(result),
        )
    )
    for call in pending:
        emit(
            ApprovalRequested(
                **ids,
                call_id=call.call_id,
                agent=call.agent,
                tool=call.tool,
                arguments=call.arguments,
                expires_at=expires_at,
            )
        )
    log.info("run.interrupted", pending=[call.call_id for call in pending])
    return RunInterrupted(**ids, pending=[call.call_id for call in pending])


def _more_ready(result: RunResultStreaming) -> Callable[[], bool]:
    """Asks whether the SDK has more events ready: the next one comes without waiting.

    The SDK's queue is not public; without it every event counts as the end of a burst, so
    text goes delta by delta, as it did before text was held (tests/test_text_bursts.py
    fails then, so an SDK upgrade that moves it is noticed). Looked up once per run.
    """
    queue = getattr(result, "_event_queue", None)
    if not isinstance(queue, asyncio.Queue):
        return lambda: False
    return lambda: not queue.empty()


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
