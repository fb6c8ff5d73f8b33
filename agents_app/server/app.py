"""The local server: the event protocol over WebSocket at `/`, the chat page at `GET /`,
AG-UI over HTTP SSE at `POST /ag-ui`."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from agents_app.access import ClientLimiter, OriginPolicy, token_matches
from agents_app.authoring.reload import watching_if
from agents_app.dispatch.batching import wants_batch
from agents_app.engine import Engine
from agents_app.event_loop import loop_name
from agents_app.observe.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from agents_app.protocol.encoders import new_encoder
from agents_app.runs.registry import Runs
from agents_app.server.agui_http import agui_endpoint
from agents_app.server.connection import Connection
from agents_app.server.graph_view import graph_endpoint
from agents_app.server.headers import SecurityHeaders

WIRE_FORMATS = ("json", "text", "ag-ui")
STATIC = Path(__file__).resolve().parent / "static"
log = structlog.get_logger("agents_app.server")


def create_app(engine: Engine, *, reload_config: bool = False) -> Starlette:
    """``reload_config``: watch the config folder and swap the graph for new runs."""

    settings = engine.settings
    runs = Runs(engine)  # runs outlive the connections that start them
    expected_token = settings.auth_token.get_secret_value() if settings.auth_token else None
    clients = ClientLimiter(settings.max_connections_per_client)
    origins = OriginPolicy.build(settings.allowed_origins, bind_host=settings.host)

    async def websocket_endpoint(websocket: WebSocket) -> None:
        # Refused before accept: the client sees a failed handshake (403) and learns nothing.
        if not origins.allows(websocket.headers):
            log.info("connection.refused", reason="origin", origin=websocket.headers.get("origin"))
            await websocket.close(code=1008)
            return
        if not token_matches(expected_token, websocket.headers, websocket.query_params):
            await websocket.close(code=1008)
            return
        address = websocket.client.host if websocket.client else "unknown"
        if not clients.admit(address):
            await websocket.close(code=1013, reason="too many connections from this address")
            return
        try:
            await _serve_socket(websocket)
        finally:
            clients.leave(address)

    async def _serve_socket(websocket: WebSocket) -> None:
        fmt = websocket.query_params.get("format", "json")
        if fmt not in WIRE_FORMATS:
            # 1008: policy violation; the reason tells wscat users what to fix.
            await websocket.close(
                code=1008, reason=f"unknown format {fmt!r}; use {', '.join(WIRE_FORMATS)}"
            )
            return
        await websocket.accept()
        encoder = new_encoder(fmt, model=engine.model_info)
        # Batch frames are arrays of protocol events: the other formats have no such thing.
        batch = fmt == "json" and wants_batch(websocket.query_params.get("batch"))
        await Connection(websocket, runs, encoder, batch=batch).serve()

    async def chat_page(_: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "model": engine.model_info.model_dump()})

    async def metrics(request: Request) -> Response:
        # Figures say what users do and which tools fail: behind the token like the rest.
        if not token_matches(expected_token, request.headers, request.query_params):
            return Response("unauthorized\n", status_code=401, media_type="text/plain")
        return Response(engine.metrics.render(), media_type=METRICS_CONTENT_TYPE)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # MCP servers are dialled now, in the background: the log says at once which one is
        # down and why, the first run does not pay for connecting, and a slow server does
        # not hold up start-up (its agents' runs connect, or fail cleanly, on their own).
        warm_up = asyncio.create_task(engine.mcp.connect(), name="mcp-connect")
        _freeze_start_up_objects()
        log.info("server.ready", event_loop=loop_name(asyncio.get_running_loop()))
        async with watching_if(engine, reload_config):
            yield
        warm_up.cancel()
        await asyncio.gather(warm_up, return_exceptions=True)
        await runs.aclose()
        await engine.aclose()

    middleware = [Middleware(SecurityHeaders)]
    if settings.allowed_origins:
        # A listed front-end on another origin must be able to read the SSE answer of
        # `POST /ag-ui` (and send its preflight); the WebSocket needs no CORS.
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=[o.rstrip("/") for o in settings.allowed_origins],
                allow_methods=["POST"],
                allow_headers=["authorization", "content-type"],
            )
        )
    return Starlette(
        middleware=middleware,
        routes=[
            Route("/healthz", health),
            Route("/metrics", metrics),
            Route("/graph", graph_endpoint(engine)),
            # Same path, different scopes: starlette routes HTTP and WebSocket separately.
            Route("/", chat_page),
            WebSocketRoute("/", websocket_endpoint),
            Route("/ag-ui", agui_endpoint(runs, origins), methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        lifespan=lifespan,
    )


def _freeze_start_up_objects() -> None:
    """What start-up made (modules, classes, the graph, pydantic schemas: ~190k objects)
    lives as long as the server. A full collection walks all of it (~120 ms here, every
    connection stalled meanwhile); frozen, collections walk only what runs made."""
    gc.collect()
    gc.freeze()
