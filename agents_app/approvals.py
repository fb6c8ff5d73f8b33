"""When a tool call needs a person's yes: the rules of agents.yaml as openai-agents
`needs_approval` policies.

The rule language is small on purpose — `always`, or one argument checked against a list —
so a prompt author can read exactly what will stop for approval.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from agents import RunContextWrapper

from agents_app.config.tool_specs import ApprovalRule, ArgumentRule

Policy = bool | Callable[[RunContextWrapper[Any], dict[str, Any], str], Awaitable[bool]]


def policy(rule: ApprovalRule) -> Policy:
    """The SDK's `needs_approval` for `rule`."""
    if rule == "always":
        return True
    assert isinstance(rule, ArgumentRule)

    async def needs_approval(_: RunContextWrapper[Any], arguments: dict[str, Any], __: str) -> bool:
        return asks(rule, arguments)

    return needs_approval


def asks(rule: ArgumentRule, arguments: dict[str, Any]) -> bool:
    """True when this call must wait for a person (anything unreadable asks)."""
    value = arguments.get(rule.argument)
    if rule.not_in is not None:
        return not isinstance(value, str) or value not in rule.not_in
    assert rule.domain_not_in is not None
    if not isinstance(value, str):
        return True
    parts = urlsplit(value.strip())
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme not in ("http", "https") or not host:
        return True
    return not any(host == d.lower() or host.endswith("." + d.lower()) for d in rule.domain_not_in)
