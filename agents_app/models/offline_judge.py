"""How the offline model plays a guardrail judge: by a rule a prompt author can read.

A judge's prompt lists what to refuse as `- ` bullet lines. Offline, a message is refused
when one of its words is a word of those lines (equal, or equal once a plural or -ing ending
is dropped: "scripts" refuses "script"); the reason names the word. Anything else is allowed.
A real model reads the same prompt as prose; the offline one only needs it to be
deterministic, so a demo trips the same way every time, with no credentials.
"""

from __future__ import annotations

import json
from typing import Any

from agents.agent_output import AgentOutputSchemaBase

from agents_app.models import offline_text as text

VERDICT_FIELDS = frozenset({"allowed", "reason"})
_ENDINGS = ("ing", "es", "s")


def is_verdict_schema(schema: AgentOutputSchemaBase | None) -> bool:
    """Whether the caller wants a judge's verdict (the only structured output we ask for)."""
    if schema is None or schema.is_plain_text():
        return False
    properties: Any = schema.json_schema().get("properties", {})
    return isinstance(properties, dict) and set(properties) == VERDICT_FIELDS


def verdict(instructions: str | None, message: str) -> str:
    """The judge's answer as the JSON text a model would stream."""
    refused = _refusing_words(instructions or "")
    hit = next((w for w in text.words(message) if _stem(w) in refused), None)
    if hit is None:
        answer = {"allowed": True, "reason": "Nothing in the message is on the refuse list."}
    else:
        answer = {"allowed": False, "reason": f"The message asks about {hit!r}, on the list."}
    return json.dumps(answer, ensure_ascii=False)


def _refusing_words(instructions: str) -> frozenset[str]:
    lines = (line.strip() for line in instructions.splitlines())
    bullets = (line[2:] for line in lines if line.startswith(("- ", "* ")))
    return frozenset(_stem(w) for line in bullets for w in text.keywords(line))


def _stem(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word
