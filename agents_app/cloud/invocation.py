"""One MESSAGE or DISCONNECT invocation, on the runtime's loop."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from agents_app.cloud.gateway_event import GatewayEvent
from agents_app.cloud.runtime import FunctionRuntime
from agents_app.memory.conversation_turn import run_conversation_turn
from agents_app.memory.store import StoreUnavailable
from agents_app.protocol.commands import BadFrame, CancelRun, Ping, UserMessage, parse_frame
from agents_app.protocol.encoders import new_encoder
from agents_app.protocol.events import Error, Pong
from agents_app.sinks.connection_service import ConnectionServiceSink
from agents_app.stream.forwarder import Forwarder
from agents_app.stream.turn import Turn

log = structlog.get_logger("agents_app.cloud")

# API Gateway WebSocket: at most 32 KB a frame; keep every Send within one frame.
GATEWAY_FRAME_BYTES = 32 * 1024


async def handle_message(
    runtime: FunctionRuntime, event: GatewayEvent, *, deadline_s: float | None, token: str | None
) -> int:
    """Serve one inbound frame; returns the HTTP status for the platform."""
    connection_id = event.connection_id
    runtime.tokens.offer(token)
    forwarder = Forwarder(
        ConnectionServiceSink(runtime.stub, connection_id, runtime.tokens.metadata),
        # A fresh one per invocation: the AG-UI encoder keeps per-run state.
        new_encoder(runtime.settings.output_format),
        on_sink_closed=lambda: _lost(runtime, connection_id),
        max_frame_bytes=GATEWAY_FRAME_BYTES,
    ).start()
    try:
        return await _dispatch(runtime, event, forwarder, deadline_s)
    finally:
        # Whatever is queued goes out, within what is left of the invocation.
        drain_s = runtime.settings.deadline_margin_s if deadline_s is not None else None
        try:
            await asyncio.wait_for(forwarder.aclose(), drain_s)
        except TimeoutError:
            log.warning("forwarder.drain_timeout")
            await forwarder.aclose(drain=False)


async def _dispatch(
    runtime: FunctionRuntime, event: GatewayEvent, forwarder: Forwarder, deadline_s: float | None
) -> int:
    connection_id = event.connection_id
    settings = runtime.settings
    try:
        command = parse_frame(event.body, max_bytes=settings.max_frame_bytes)
    except BadFrame as bad:
        forwarder.put(Error(code=bad.code, message=bad.message))
        return 400
    match command:
        case Ping():
            forwarder.put(Pong())
            return 200
        case CancelRun():
            if _cancel(runtime, connection_id, "cancelled by client"):
                return 200
            # The run may be streaming from another invocation or instance: flag it in the
            # store; the running side watches the flag.
            if await _request_cancel(runtime, connection_id):
                return 200
            forwarder.put(Error(code="bad_request", message="No run to cancel."))
            return 400
        case UserMessage():
            return await _run(runtime, connection_id, command, forwarder, deadline_s)
    raise AssertionError(f"unhandled command {command!r}")


async def _run(
    runtime: FunctionRuntime,
    connection_id: str,
    message: UserMessage,
    forwarder: Forwarder,
    deadline_s: float | None,
) -> int:
    engine = runtime.engine
    if message.agent is not None and message.agent not in engine.graph.agents:
        forwarder.put(Error(code="bad_request", message=f"Unknown agent {message.agent!r}."))
        return 400
    if runtime.first_contact(connection_id):
        forwarder.put(engine.session_ready(connection_id))
    conversation_id = message.conversation_id or connection_id
    runtime.remember(connection_id, conversation_id)
    turn = Turn(conversation_id=conversation_id, text=message.text, agent=message.agent)
    timeout_s = None
    if deadline_s is not None:
        timeout_s = max(0.0, deadline_s - runtime.settings.deadline_margin_s)
    task = asyncio.create_task(
        run_conversation_turn(
            turn, engine=engine, store=engine.store, emit=forwarder.put, timeout_s=timeout_s
        ),
        name=f"run:{turn.run_id}",
    )
    # Keyed by conversation: the store's lock already makes it one run per conversation.
    runtime.runs[conversation_id] = task
    terminal = None
    try:
        with contextlib.suppress(asyncio.CancelledError):
            terminal = await task
    finally:
        if runtime.runs.get(conversation_id) is task:
            del runtime.runs[conversation_id]
    if terminal is None and not task.cancelled():
        forwarder.put(Error(code="busy", message="This conversation has a run in progress."))
        return 409
    return 200


async def handle_disconnect(runtime: FunctionRuntime, connection_id: str) -> None:
    task = runtime.runs.get(runtime.conversation_of(connection_id))
    if task is not None:
        task.cancel("client disconnected")
        with contextlib.suppress(asyncio.CancelledError):
            await task
    else:
        await _request_cancel(runtime, connection_id)  # a run on another instance
    runtime.forget(connection_id)


async def _request_cancel(runtime: FunctionRuntime, connection_id: str) -> bool:
    conversation_id = runtime.conversation_of(connection_id)
    try:
        return await runtime.engine.store.request_cancel(conversation_id)
    except StoreUnavailable as exc:
        log.warning("memory.cancel_failed", error=str(exc))
        return False


def _lost(runtime: FunctionRuntime, connection_id: str) -> None:
    _cancel(runtime, connection_id, "connection lost")


def _cancel(runtime: FunctionRuntime, connection_id: str, reason: str) -> bool:
    task = runtime.runs.get(runtime.conversation_of(connection_id))
    if task is None or task.done():
        return False
    task.cancel(reason)
    return True
