"""Merging what piled up: consecutive `text.delta`s of one message become one delta."""

from __future__ import annotations

from collections.abc import Sequence

from agents_app.protocol.events import RunEvent, TextDelta


def coalesce(batch: Sequence[RunEvent]) -> list[RunEvent]:
    """`batch` with each run of same-message deltas merged into its first delta."""
    out: list[RunEvent] = []
    pending: list[str] = []
    head: TextDelta | None = None
    for event in batch:
        if isinstance(event, TextDelta):
            if head is not None and event.message_id == head.message_id:
                pending.append(event.delta)
                continue
            _flush(head, pending)
            head, pending = event, []
            out.append(event)
            continue
        _flush(head, pending)
        head, pending = None, []
        out.append(event)
    _flush(head, pending)
    return out


def _flush(head: TextDelta | None, pending: list[str]) -> None:
    if head is not None and pending:
        head.delta = head.delta + "".join(pending)
