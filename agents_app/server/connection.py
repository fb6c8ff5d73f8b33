"""One WebSocket connection: the socket loop. The protocol itself is the dispatcher's."""

from __future__ import annotations

import contextlib
from uuid import uuid4

import structlog
from starlette.websockets import WebSocket

from agents_app.dispatch.client import Client
from agents_app.dispatch.dispatcher import Dispatcher
from agents_app.dispatch.outbox import Outbox
from agents_app.protocol.encoders import Encoder
from agents_app.runs.registry import Runs
from agents_app.sinks.websocket import WebSocketSink

log = structlog.get_logger("agents_app.connection")


class Connection:
    def __init__(
        self, websocket: WebSocket, runs: Runs, encoder: Encoder, *, batch: bool = False
    ) -> None:
        self.id = f"conn_{uuid4().hex[:16]}"
        self._ws = websocket
        self._outbox = Outbox(WebSocketSink(websocket), encoder, batch=batch)
        client = Client.new(self.id, runs.engine.settings)
        client.traceparent = websocket.headers.get("traceparent")
        self._dispatcher = Dispatcher(client, self._outbox, runs)

    async def serve(self) -> None:
        with structlog.contextvars.bound_contextvars(connection_id=self.id):
            self._outbox.start()
            log.info("connection.opened", client=_client(self._ws))
            self._dispatcher.greet()
            open_now = self._dispatcher.engine.metrics.connections
            open_now.inc()
            try:
                await self._receive_loop()
            finally:
                open_now.dec()
                with contextlib.suppress(Exception):
                    await self._dispatcher.client_gone()
                await self._outbox.aclose(drain=not self._outbox.closed)
                log.info("connection.closed")

    async def _receive_loop(self) -> None:
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            frame = message.get("text")
            if frame is None:
                frame = message.get("bytes") or b""
            await self._dispatcher.handle(frame)


def _client(websocket: WebSocket) -> str | None:
    return f"{websocket.client.host}:{websocket.client.port}" if websocket.client else None
