"""`POST /ag-ui`: an AG-UI `RunAgentInput` in, the run's AG-UI events out as Server-Sent Events.

This is what an `@ag-ui/client` `HttpAgent` speaks. One request starts one run (through the
same dispatcher as every other entry point: rate limit, conversation cap, busy thread). Each
event carries `id: <seq>`; the same request sent again with `Last-Event-ID` continues the
run where that stream broke off, and without it replays the run rather than running it twice.
A client that goes away leaves the run going, unless `on_disconnect: cancel`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from agents_app.access import OriginPolicy, token_matches
from agents_app.dispatch.client import Client
from agents_app.dispatch.dispatcher import Dispatcher
from agents_app.dispatch.outbox import Outbox
from agents_app.dispatch.replies import Reply
from agents_app.protocol.agui import AgUiEncoder
from agents_app.protocol.commands import BadFrame
from agents_app.protocol.encoders import scrubbing
from agents_app.protocol.events import Error
from agents_app.runs.registry import Runs
from agents_app.runs.turn import Turn
from agents_app.server.agui_input import parse_run_input, turn_from_input, verdicts_from
from agents_app.sinks.queue import QueueSink

log = structlog.get_logger("agents_app.agui")

# The whole thread travels in every request, so the body may be far larger than one message.
BODY_LIMIT_FACTOR = 32
STATUS = {
    "bad_request": 400,
    "unauthorized": 401,
    "not_found": 404,
    "busy": 409,
    "too_large": 413,
    "rate_limited": 429,
    "unavailable": 503,
}
MAX_CLIENTS = 4096


class _Addresses:
    """Per client address: one rate bucket and one conversation cap, as for a connection."""

    def __init__(self, runs: Runs) -> None:
        self._settings = runs.engine.settings
        self._known: OrderedDict[str, Client] = OrderedDict()

    def client_for(self, address: str) -> Client:
        shared = self._known.get(address)
        if shared is None:
            shared = self._known[address] = Client.new(address, self._settings)
            while len(self._known) > MAX_CLIENTS:
                self._known.popitem(last=False)
        self._known.move_to_end(address)
        # Requests from one address may stream side by side: each follows its own run.
        request = Client.new(address, self._settings)
        request.rate, request.conversations = shared.rate, shared.conversations
        return request


def agui_endpoint(runs: Runs, origins: OriginPolicy) -> Callable[[Request], Awaitable[Response]]:
    engine = runs.engine
    token = engine.settings.auth_token
    expected = token.get_secret_value() if token else None
    addresses = _Addresses(runs)

    async def endpoint(request: Request) -> Response:
        # A cross-site form or `fetch(…, {mode: "no-cors"})` POST needs no preflight: the
        # run would start even though the page could never read the answer.
        if not origins.allows(request.headers):
            log.info("agui.refused", reason="origin", origin=request.headers.get("origin"))
            error = Error(code="unauthorized", message="This origin may not use the service.")
            return JSONResponse(error.model_dump(), status_code=403)
        if not token_matches(expected, request.headers, request.query_params):
            return _refuse(Error(code="unauthorized", message="A valid token is required."))
        limit = BODY_LIMIT_FACTOR * engine.settings.max_frame_bytes
        try:
            run_input = parse_run_input(await _body(request, limit), max_bytes=limit)
            verdicts = verdicts_from(run_input.resume) if run_input.resume else None
            turn = (
                turn_from_input(
                    run_input, graph=engine.graph, max_text_bytes=engine.settings.max_frame_bytes
                )
                if verdicts is None
                else Turn(conversation_id=run_input.thread_id, text="", run_id=run_input.run_id)
            )
        except BadFrame as bad:
            return _refuse(Error(code=bad.code, message=bad.message))
        turn = dataclasses.replace(turn, traceparent=request.headers.get("traceparent"))
        client = addresses.client_for(request.client.host if request.client else "unknown")
        sink = QueueSink()
        outbox = Outbox(sink, scrubbing(AgUiEncoder(model=engine.model_info, sse=True)))
        dispatcher = Dispatcher(client, outbox, runs)
        if (limited := dispatcher.admit()) is not None and limited.error is not None:
            return _refuse(limited.error)
        known = await runs.find(run_id=turn.run_id)
        if known is not None and known.conversation_id != turn.conversation_id:
            message = f"runId {turn.run_id!r} belongs to another thread."
            return _refuse(Error(code="bad_request", message=message))
        if known is not None:
            # The same run asked for again: continue (Last-Event-ID) or replay it.
            reply = await dispatcher.join(
                run_id=turn.run_id, conversation_id=None, after_seq=_last_event_id(request)
            )
        elif verdicts is not None:
            # Answers to the interrupts that ended the thread's last run: it goes on.
            waiting = await runs.engine.store.pending_approval(turn.conversation_id)
            if waiting is None:
                message = f"Nothing on thread {turn.conversation_id!r} waits for an answer."
                return _refuse(Error(code="not_found", message=message))
            reply = await dispatcher.resume(waiting, verdicts, run_id_next=turn.run_id)
        else:
            reply = await dispatcher.start(turn)
        if reply.error is not None or reply.follow is None:
            return _refuse(reply.error or Error(code="not_found", message="No run."))
        outbox.start()
        with structlog.contextvars.bound_contextvars(run_id=turn.run_id):
            log.info("agui.request", thread_id=turn.conversation_id, resumed=known is not None)
        return StreamingResponse(
            _frames(dispatcher, reply, sink),
            media_type="text/event-stream",
            # Proxies must neither cache nor buffer a live stream.
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return endpoint


async def _body(request: Request, limit: int) -> bytes:
    """The request body, read no further than `limit`: uvicorn sets no body limit of its own,
    and `request.body()` would hold a body of any size in memory before we could look at it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadFrame("too_large", f"Request of {declared} bytes exceeds {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadFrame("too_large", f"Request body exceeds {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def _frames(dispatcher: Dispatcher, reply: Reply, sink: QueueSink) -> AsyncIterator[str]:
    follow = reply.follow
    assert follow is not None

    async def pump() -> None:
        try:
            await follow
            await dispatcher.outbox.aclose()
        finally:
            sink.close()

    pumping = asyncio.create_task(pump())
    try:
        while (frame := await sink.next_frame()) is not None:
            yield frame
    finally:
        # Reached early only when the client went away: starlette cancels the body.
        if not pumping.done():
            with anyio.CancelScope(shield=True):
                await dispatcher.client_gone()
                await dispatcher.outbox.aclose(drain=False)
                pumping.cancel()
                await asyncio.gather(pumping, return_exceptions=True)


def _last_event_id(request: Request) -> int:
    raw = request.headers.get("last-event-id", "")
    return int(raw) if raw.isdigit() else 0


def _refuse(error: Error) -> JSONResponse:
    return JSONResponse(error.model_dump(), status_code=STATUS.get(error.code, 400))
