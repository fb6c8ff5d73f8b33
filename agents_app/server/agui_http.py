"""`POST /ag-ui`: an AG-UI `RunAgentInput` in, the run's AG-UI events out as Server-Sent Events.

This is what an `@ag-ui/client` `HttpAgent` speaks. One request is one run; the client
disconnecting (`abortRun()`, a closed tab) cancels it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from agents_app.access import OriginPolicy, token_matches
from agents_app.engine import Engine
from agents_app.protocol.agui import AgUiEncoder
from agents_app.protocol.commands import BadFrame
from agents_app.protocol.encoders import scrubbing
from agents_app.protocol.events import Error
from agents_app.server.agui_input import parse_run_input, turn_from_input
from agents_app.sinks.queue import QueueSink
from agents_app.stream.forwarder import Forwarder
from agents_app.stream.turn import Turn, run_turn

log = structlog.get_logger("agents_app.agui")

# The whole thread travels in every request, so the body may be far larger than one message.
BODY_LIMIT_FACTOR = 32
_STATUS = {"bad_request": 400, "too_large": 413}


def agui_endpoint(
    engine: Engine, origins: OriginPolicy
) -> Callable[[Request], Awaitable[Response]]:
    token = engine.settings.auth_token
    expected = token.get_secret_value() if token else None

    async def endpoint(request: Request) -> Response:
        # A cross-site form or `fetch(…, {mode: "no-cors"})` POST needs no preflight: the
        # run would start even though the page could never read the answer.
        if not origins.allows(request.headers):
            log.info("agui.refused", reason="origin", origin=request.headers.get("origin"))
            error = Error(code="unauthorized", message="This origin may not use the service.")
            return JSONResponse(error.model_dump(), status_code=403)
        if not token_matches(expected, request.headers, request.query_params):
            error = Error(code="unauthorized", message="A valid token is required.")
            return JSONResponse(error.model_dump(), status_code=401)
        limit = BODY_LIMIT_FACTOR * engine.settings.max_frame_bytes
        try:
            run_input = parse_run_input(await _body(request, limit), max_bytes=limit)
            turn = turn_from_input(
                run_input, graph=engine.graph, max_text_bytes=engine.settings.max_frame_bytes
            )
        except BadFrame as bad:
            error = Error(code=bad.code, message=bad.message)
            return JSONResponse(error.model_dump(), status_code=_STATUS[bad.code])
        return StreamingResponse(
            _frames(turn, engine),
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


async def _frames(turn: Turn, engine: Engine) -> AsyncIterator[str]:
    sink = QueueSink()
    encoder = scrubbing(AgUiEncoder(model=engine.model_info, sse=True))
    forwarder = Forwarder(sink, encoder).start()
    run = asyncio.create_task(_drive(turn, engine, forwarder, sink), name=f"ag-ui:{turn.run_id}")
    with structlog.contextvars.bound_contextvars(run_id=turn.run_id):
        log.info("agui.request", thread_id=turn.conversation_id, history=len(turn.history))
    try:
        while (frame := await sink.next_frame()) is not None:
            yield frame
    finally:
        # Reached early only when the client went away: starlette cancels the body.
        if not run.done():
            run.cancel("client disconnected")
        # Shielded: the response's cancel scope would otherwise cut this wait short and
        # leave the run unwinding on its own.
        with anyio.CancelScope(shield=True):
            await asyncio.gather(run, return_exceptions=True)


async def _drive(turn: Turn, engine: Engine, forwarder: Forwarder, sink: QueueSink) -> None:
    try:
        await run_turn(turn, engine=engine, emit=forwarder.put)
    except asyncio.CancelledError:
        await forwarder.aclose(drain=False)  # nobody is reading any more
        raise
    else:
        await forwarder.aclose()
    finally:
        sink.close()
