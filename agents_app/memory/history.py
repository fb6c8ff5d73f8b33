"""How much history a run sends to the model: the newest items, within a budget."""

from __future__ import annotations

from typing import Any

from agents import TResponseInputItem
from agents.memory import SessionInputCallback


def bounded_history(max_items: int) -> SessionInputCallback:
    """Keep the newest `max_items` history items, starting at a user message, without tool
    calls that never got their result (or results whose call is gone).

    Both matter to the model APIs, which reject either: a window could open on a result whose
    call was trimmed away, and a run that paused for approval and was never resumed (or was
    cancelled mid-call) leaves its call without a result in the conversation.
    """

    def combine(
        history: list[TResponseInputItem], new_input: list[TResponseInputItem]
    ) -> list[TResponseInputItem]:
        kept = history[-max_items:] if len(history) > max_items else history
        start = next((i for i, item in enumerate(kept) if _is_user_message(item)), len(kept))
        return [*_paired(kept[start:]), *new_input]

    return combine


def _paired(items: list[TResponseInputItem]) -> list[TResponseInputItem]:
    calls = {_field(i, "call_id") for i in items if _field(i, "type") == "function_call"}
    results = {_field(i, "call_id") for i in items if _field(i, "type") == "function_call_output"}
    answered = calls & results
    return [
        item
        for item in items
        if _field(item, "type") not in ("function_call", "function_call_output")
        or _field(item, "call_id") in answered
    ]


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _is_user_message(item: Any) -> bool:
    fields = item if isinstance(item, dict) else vars(item) if hasattr(item, "__dict__") else {}
    return fields.get("role") == "user" and fields.get("type") in (None, "message")
