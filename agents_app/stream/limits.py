"""Keeping frames under a transport's size limit without breaking JSON.

API Gateway WebSocket takes at most 32 KB a frame. A text delta that grew too big while
coalescing is split into several deltas (each gets its own seq); any other event has its
largest text field shortened, since the whole text also travels in the deltas.

Sizes are measured on the JSON encoding: other encoders are no larger for the same event,
and some (AG-UI) are stateful and must see each event exactly once.
"""

from __future__ import annotations

from agents_app.protocol.events import Event, TextDelta

# Every logged run event fits in this: API Gateway WebSocket's frame limit, the smallest of
# our transports, so one log serves every client.
EVENT_BYTES = 32 * 1024
ELLIPSIS = "…"
# Room for the seq number and the ellipsis, which are added after measuring.
_SLACK = 32
# A delta's JSON without its text: ids, agent, type, seq, ts (generously).
_DELTA_ENVELOPE = 1024
_SHRINKABLE = ("text", "final_output", "output", "input", "message", "delta")


def fit(event: Event, limit: int) -> list[Event]:
    """`event` as one or more events whose encoded frames are at most `limit` bytes."""
    if isinstance(event, TextDelta) and len(event.delta) * 6 + _DELTA_ENVELOPE <= limit:
        return [event]  # the per-delta hot path: surely small enough, no trial encoding
    if _size(event) + _SLACK <= limit:
        return [event]
    if isinstance(event, TextDelta) and len(event.delta) > 1:
        half = len(event.delta) // 2
        head = event.model_copy(update={"delta": event.delta[:half]})
        tail = event.model_copy(update={"delta": event.delta[half:]})
        return fit(head, limit) + fit(tail, limit)
    return [_shrink(event, limit)]


def _size(event: Event) -> int:
    return len(event.model_dump_json().encode())


def _shrink(event: Event, limit: int) -> Event:
    fields = [name for name in _SHRINKABLE if isinstance(getattr(event, name, None), str)]
    if not fields:
        return event
    name = max(fields, key=lambda f: len(getattr(event, f)))
    value: str = getattr(event, name)
    while value:
        excess = _size(event.model_copy(update={name: value + ELLIPSIS})) + _SLACK - limit
        if excess <= 0:
            break
        # Characters may take up to 4 bytes in UTF-8 (and 6 when JSON-escaped).
        value = value[: max(0, len(value) - max(excess // 6, 1) - 1)]
    if name == "output" and hasattr(event, "truncated"):
        return event.model_copy(update={name: value + ELLIPSIS, "truncated": True})
    return event.model_copy(update={name: value + ELLIPSIS})
