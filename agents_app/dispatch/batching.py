"""Batch frames (protocol revision 2): several encoded events in one message, as a JSON array.

Only what piled up while a send was in flight is packed, so a client that keeps up still
gets one object per message; a lone event is never wrapped in an array.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

# "[", "]" and the comma after each element but the last.
_ARRAY_BYTES = 2
_SEPARATOR_BYTES = 1


def pack(frames: Sequence[str], limit: int) -> Iterator[str]:
    """`frames` (each one JSON event) in order, as few messages of at most `limit` bytes.

    A frame that alone exceeds `limit` goes out on its own, as it would without batching:
    every run event was already cut to fit a frame when it was logged.
    """
    group: list[str] = []
    size = _ARRAY_BYTES
    for frame in frames:
        length = len(frame.encode())
        if group and size + _SEPARATOR_BYTES + length > limit:
            yield _message(group)
            group, size = [], _ARRAY_BYTES
        size += length + (_SEPARATOR_BYTES if group else 0)
        group.append(frame)
    if group:
        yield _message(group)


def _message(group: list[str]) -> str:
    return group[0] if len(group) == 1 else "[" + ",".join(group) + "]"


def wants_batch(value: str | None) -> bool:
    """`?batch=1` (or `true`) on the connect URL: the client reads batch frames."""
    return value is not None and value.strip().lower() in {"1", "true"}
