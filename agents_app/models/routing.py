"""Handoffs that carry the offline router's keywords (agents.yaml `keywords:`).

The offline model decides only from what the `Model` interface receives, and the handoffs are
what it routes between, so the words travel on them. Real models get the handoff's tool name,
description and schema, as ever: the SDK sends nothing else, so they never see the keywords.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from agents import Handoff


@dataclasses.dataclass
class RoutedHandoff(Handoff[Any, Any]):
    routing_keywords: tuple[str, ...] = ()


def with_keywords(handoff: Handoff[Any, Any], keywords: Sequence[str]) -> Handoff[Any, Any]:
    """`handoff`, carrying `keywords` for the offline router (unchanged when there are none)."""
    if not keywords:
        return handoff
    given = {f.name: getattr(handoff, f.name) for f in dataclasses.fields(handoff) if f.init}
    routed = RoutedHandoff(**given, routing_keywords=tuple(keywords))
    # Not an __init__ argument: `handoff()` sets it afterwards, and so do we.
    routed._agent_ref = handoff._agent_ref
    return routed


def keywords_of(handoff: Handoff[Any, Any]) -> tuple[str, ...]:
    return handoff.routing_keywords if isinstance(handoff, RoutedHandoff) else ()
