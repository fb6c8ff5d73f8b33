"""Messages for problems pydantic does not see: YAML syntax errors and bad agent ids."""

from __future__ import annotations

import re

from ruamel.yaml.error import MarkedYAMLError

from .positions import START, Position
from .schema import AGENT_ID_PATTERN

_AGENT_ID = re.compile(AGENT_ID_PATTERN)


def syntax_issue(exc: MarkedYAMLError) -> tuple[Position, str, str]:
    mark, context_mark = exc.problem_mark, exc.context_mark
    pos = Position(mark.line + 1, mark.column + 1) if mark is not None else START
    context = exc.context or ""
    if context and context_mark is not None and context_mark is not mark:
        # The problem mark is often the end of the file (an unclosed "[" or quote); where
        # the construct started is what the author needs to find.
        context += f" started at {context_mark.line + 1}:{context_mark.column + 1}"
    parts = [p for p in (context, exc.problem) if p]
    return pos, "(syntax)", ": ".join(parts) or "invalid YAML"


def bad_id_message(agent_id: str, what: str = "agent") -> str:
    if what == "agent":
        message = (
            f"agent id {agent_id!r} must be ASCII snake_case ({AGENT_ID_PATTERN}): handoff tool "
            "names are derived from ids (transfer_to_<id>) and openai-agents turns other "
            "characters into '_', so such ids collide; put a display name in 'name'"
        )
    else:
        message = (
            f"{what} name {agent_id!r} must be ASCII snake_case ({AGENT_ID_PATTERN}): clients "
            "see it in guardrail.tripped events"
        )
    slug = re.sub(r"[^a-z0-9_]+", "_", agent_id.lower()).strip("_")
    if agent_id.isascii() and _AGENT_ID.match(slug):
        message += f" (did you mean {slug!r}?)"
    return message
