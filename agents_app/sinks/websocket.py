"""Frames to a Starlette WebSocket."""

from __future__ import annotations

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from agents_app.protocol.sink import SinkClosed


class WebSocketSink:
    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket

    async def send(self, frame: str) -> None:
        if self._ws.application_state != WebSocketState.CONNECTED:
            raise SinkClosed("websocket closed")
        try:
            await self._ws.send_text(frame)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise SinkClosed(f"websocket send failed: {type(exc).__name__}") from exc
