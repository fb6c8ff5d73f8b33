"""Where frames go. A sink knows frames and its transport; nothing of agents or runs."""

from __future__ import annotations

from typing import Protocol


class SinkClosed(Exception):
    """The peer is gone: stop sending, and stop producing for it."""


class Sink(Protocol):
    async def send(self, frame: str) -> None:
        """Deliver one frame, or raise SinkClosed."""
