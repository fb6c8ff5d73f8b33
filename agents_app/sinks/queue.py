"""Frames into an asyncio queue, for a response body that streams them (HTTP SSE)."""

from __future__ import annotations

import asyncio

from agents_app.protocol.sink import SinkClosed


class QueueSink:
    def __init__(self) -> None:
        self._frames: asyncio.Queue[str | None] = asyncio.Queue()
        self._closed = False

    async def send(self, frame: str) -> None:
        if self._closed:
            raise SinkClosed("stream closed")
        self._frames.put_nowait(frame)

    def close(self) -> None:
        """No more frames: the reader gets None once it has taken what was sent."""
        if not self._closed:
            self._closed = True
            self._frames.put_nowait(None)

    async def next_frame(self) -> str | None:
        return await self._frames.get()
