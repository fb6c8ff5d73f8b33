"""How much history a run sends to the model: the newest items, within a budget."""

from __future__ import annotations

from typing import Any

from agents import TResponseInputItem
from agents.memory import SessionInputCallback


def bounded_history(max_items: int) -> SessionInputCallback:
    """Keep the newest `max_items` history items, starting at a user message.

    Starting at a user turn matters: a window that opens on a tool result whose call was
    trimmed away is rejected by the model APIs.
    """

    def combine(
        history: list[TResponseInputItem], new_input: list[TResponseInputItem]
    ) -> list[TResponseInputItem]:
        kept = history[-max_items:] if len(history) > max_items else history
        start = next((i for i, item in enumerate(kept) if _is_user_message(item)), len(kept))
        return [*kept[start:], *new_input]

    return combine


def _is_user_message(item: Any) -> bool:
    fields = item if isinstance(item, dict) else vars(item) if hasattr(item, "__dict__") else {}
    return fields.get("role") == "user" and fields.get("type") in (None, "message")
