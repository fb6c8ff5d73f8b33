"""Frames to a terminal or a pipe, for the CLI."""

from __future__ import annotations

import sys
from typing import TextIO


class StreamSink:
    def __init__(self, stream: TextIO | None = None, *, line_per_frame: bool) -> None:
        self._stream = stream or sys.stdout
        # JSON frames are one per line; text and pretty frames carry their own layout.
        self._end = "\n" if line_per_frame else ""

    async def send(self, frame: str) -> None:
        self._stream.write(frame + self._end)
        self._stream.flush()
