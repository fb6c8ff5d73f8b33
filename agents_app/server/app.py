"""The local server: the event protocol over WebSocket at `/`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from agents_app.engine import Engine
from agents_app.protocol.encoders import ENCODERS
from agents_app.server.connection import Connection

WIRE_FORMATS = ("json", "text")


def create_app(engine: Engine) -> Starlette:
    async def websocket_endpoint(websocket: WebSocket) -> None:
        fmt = websocket.query_params.get("format", "json")
        if fmt not in WIRE_FORMATS:
            # 1008: policy violation; the reason tells wscat users what to fix.
            await websocket.close(code=1008, reason=f"unknown format {fmt!r}; use json or text")
            return
        await websocket.accept()
        await Connection(websocket, engine, ENCODERS[fmt]).serve()

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "model": engine.model_info.model_dump()})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await engine.aclose()

    return Starlette(
        routes=[Route("/healthz", health), WebSocketRoute("/", websocket_endpoint)],
        lifespan=lifespan,
    )
