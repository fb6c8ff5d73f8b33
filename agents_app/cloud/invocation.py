"""One MESSAGE or DISCONNECT invocation, on the runtime's loop: gateway → dispatcher → Sends.

The platform may freeze an instance once an invocation returns, so a run started by a
message is awaited here to its end — even when the client's connection is gone (`Send`
finds it NOT_FOUND): the run's answer still lands in its log and the conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import structlog

from agents_app.cloud.connection_options import batch_for
from agents_app.cloud.gateway_event import GatewayEvent
from agents_app.cloud.runtime import FunctionRuntime
from agents_app.dispatch.dispatcher import Dispatcher, client_gone
from agents_app.dispatch.outbox import Outbox
from agents_app.dispatch.replies import Reply
from agents_app.protocol.encoders import new_encoder
from agents_app.protocol.events import Error
from agents_app.sinks.connection_service_client import ConnectionServiceSink
from agents_app.sinks.hold_last import HoldLast
from agents_app.stream.limits import EVENT_BYTES

log = structlog.get_logger("agents_app.cloud")

STATUS = {
    "bad_request": 400,
    "unauthorized": 403,
    "not_found": 404,
    "busy": 409,
    "too_large": 413,
    "rate_limited": 429,
    "unavailable": 503,
}
JOIN_OUT_OF_TIME = "This invocation is out of time; join again with after_seq to go on."


@dataclass(frozen=True)
class Answer:
    """What the platform gets back: the HTTP status, and a frame the gateway delivers."""

    status: int
    frame: str | None = None


async def handle_message(
    runtime: FunctionRuntime, event: GatewayEvent, *, deadline_s: float | None, token: str | None
) -> Answer:
    """Serve one inbound frame; returns the HTTP status for the platform (and, for a client
    of batch frames, the last frame, which the gateway sends as the answer's body)."""
    connection_id = event.connection_id
    runtime.tokens.offer(token)
    margin = runtime.settings.deadline_margin_s
    client = runtime.client(connection_id)
    client.traceparent = event.headers.get("traceparent") or client.traceparent
    batch = await batch_for(runtime, client)
    sink = HoldLast(ConnectionServiceSink(runtime.stub, connection_id, runtime.tokens.metadata))
    outbox = Outbox(
        sink,
        # A fresh one per invocation: the AG-UI encoder keeps per-run state.
        new_encoder(runtime.settings.output_format),
        on_closed=lambda: runtime.spawn(client_gone(client, runtime.runs, "connection lost")),
        max_frame_bytes=EVENT_BYTES,
        batch=batch,
        # Each message is a Send here: events without text may wait a moment for company,
        # and text comes at most once an interval.
        linger_s=runtime.settings.batch_linger_ms / 1000,
        text_interval_s=runtime.settings.batch_text_interval_ms / 1000,
    ).start()
    if batch and runtime.settings.answer_last_frame:
        # The end of the last run this invocation follows: nothing comes after it but the
        # answer, so the frame that carries it goes there (v1 clients keep every Send).
        outbox.on_terminal(lambda run_id: sink.hold() if run_id == client.following_run else None)
    run_timeout = None if deadline_s is None else max(0.0, deadline_s - margin)
    dispatcher = Dispatcher(client, outbox, runtime.runs, timeout_s=run_timeout)
    dispatcher.greet()
    try:
        reply = await dispatcher.handle(event.body)
        await _see_through(reply, outbox, run_timeout)
    finally:
        # Whatever is queued goes out, within what is left of the invocation.
        try:
            await asyncio.wait_for(outbox.aclose(), margin if deadline_s is not None else None)
        except TimeoutError:
            log.warning("outbox.drain_timeout")
            await outbox.aclose(drain=False)
    status = 200 if reply.code is None else STATUS.get(reply.code, 400)
    return Answer(status, sink.take())


async def _see_through(reply: Reply, outbox: Outbox, timeout_s: float | None) -> None:
    """Stay until the run started here ends, and the client has what it followed."""
    if reply.run is not None:
        # The run keeps its own deadline (timeout_s) and ends with run.failed{timeout}.
        with contextlib.suppress(asyncio.CancelledError):
            await reply.run.task
    if reply.follow is None:
        return
    try:
        await asyncio.wait_for(asyncio.shield(reply.follow), timeout_s)
    except TimeoutError:
        reply.follow.cancel()
        outbox.put(Error(code="unavailable", message=JOIN_OUT_OF_TIME))
    except asyncio.CancelledError:
        pass  # the follow was stopped: the client went away


async def handle_disconnect(runtime: FunctionRuntime, connection_id: str) -> None:
    client = runtime.forget(connection_id)
    if client is not None:
        await client_gone(client, runtime.runs)
    elif runtime.runs.engine.on_disconnect == "cancel":
        # A connection this instance never saw: its run, if any, is elsewhere.
        await runtime.runs.cancel(conversation_id=connection_id, reason="client disconnected")
