"""What the offline model says next, decided only from what the `Model` interface receives.

One planner serves both `get_response` and `stream_response`, so the streamed and the
non-streamed runs cannot disagree. Order of preference for one model call:
hand off (router agents) → call the next uncalled function tool → answer with text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents import FunctionTool, Handoff, Tool
from agents.items import TResponseInputItem

from agents_app.models import offline_text as text

JOKE_COUNT_TOOL = "how_many_jokes"
_HANDOFF_PREFIX = "transfer_to_"
# A question is weak evidence for a target that "answers questions": it loses to any keyword.
_QUESTION_TOKENS = ("question", "вопрос")
_QUESTION_WEIGHT = 0.5
_MAX_JOKES = 10


@dataclass(frozen=True)
class ToolCallPlan:
    name: str
    arguments: str  # JSON object text, as the Responses API carries it


@dataclass(frozen=True)
class MessagePlan:
    text: str


Plan = ToolCallPlan | MessagePlan


@dataclass
class Turn:
    """The conversation since the last user message, as far as the planner cares."""

    message: str = ""
    called: list[str] = field(default_factory=list)  # tool names, in call order
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (tool name, output text)
    handed_off: bool = False
    input_chars: int = 0  # for the usage estimate: all text the "model" was sent


def _get(item: object, key: str) -> Any:
    # The SDK sends TypedDicts, but callers may hand over pydantic items: accept both.
    if isinstance(item, Mapping):
        return item.get(key)
    return getattr(item, key, None)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = (_get(part, "text") for part in content)
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def _is_transfer_output(output: str) -> bool:
    # The SDK's handoff output is `{"assistant": "<agent name>"}` whatever the tool is called.
    try:
        parsed = json.loads(output)
    except ValueError:
        return False
    return isinstance(parsed, dict) and set(parsed) == {"assistant"}


def read_turn(
    system_instructions: str | None,
    input: str | list[TResponseInputItem],
    handoff_names: frozenset[str] = frozenset(),
) -> Turn:
    if isinstance(input, str):
        return Turn(message=input, input_chars=len(input) + len(system_instructions or ""))
    turn = Turn(input_chars=len(system_instructions or ""))
    names_by_call: dict[str, str] = {}
    for item in input:
        kind = _get(item, "type")
        role = _get(item, "role")
        if role is not None and kind in (None, "message"):
            body = _content_text(_get(item, "content"))
            turn.input_chars += len(body)
            if role == "user":
                turn = Turn(message=body, input_chars=turn.input_chars)
                names_by_call = {}
        elif kind == "function_call":
            name = str(_get(item, "name") or "")
            names_by_call[str(_get(item, "call_id"))] = name
            turn.called.append(name)
            turn.input_chars += len(name) + len(str(_get(item, "arguments") or ""))
            if name.startswith(_HANDOFF_PREFIX) or name in handoff_names:
                turn.handed_off = True
        elif kind == "function_call_output":
            output = _content_text(_get(item, "output"))
            turn.input_chars += len(output)
            if _is_transfer_output(output):
                turn.handed_off = True
            else:
                turn.outputs.append((names_by_call.get(str(_get(item, "call_id")), ""), output))
    return turn


def handoff_description(handoff: Handoff[Any, Any]) -> str:
    """The target's own description, without the SDK's "Handoff to the X agent…" preamble."""
    preamble = f"Handoff to the {handoff.agent_name} agent to handle the request."
    desc = handoff.tool_description
    if desc.startswith(preamble):
        desc = desc[len(preamble) :]
    return desc.strip()


def _route_score(message_tokens: Sequence[str], question: bool, h: Handoff[Any, Any]) -> float:
    target_id = h.tool_name.removeprefix(_HANDOFF_PREFIX)
    target = {
        t
        for t in text.keywords(f"{target_id} {h.agent_name} {handoff_description(h)}")
        if t not in text.HANDOFF_TEMPLATE_WORDS
    }
    score = float(sum(any(text.tokens_match(m, t) for t in target) for m in message_tokens))
    if question and any(text.tokens_match(q, t) for q in _QUESTION_TOKENS for t in target):
        score += _QUESTION_WEIGHT
    return score


def route(message: str, handoffs: Sequence[Handoff[Any, Any]]) -> Handoff[Any, Any] | None:
    """The best-matching handoff target, or None; ties go to the first in the agent's order."""
    tokens = list(dict.fromkeys(text.keywords(message)))
    question = text.is_question(message)
    best: Handoff[Any, Any] | None = None
    best_score = 0.0
    for h in handoffs:
        score = _route_score(tokens, question, h)
        if score > best_score:
            best, best_score = h, score
    return best


_TOPIC_PARAMS = frozenset({"topic", "subject", "theme", "тема"})
_URL_HINTS = ("url", "uri", "link", "href")


class _Unfillable(Exception):
    """A required value the offline model cannot honestly make up (e.g. a URL)."""


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        return node if isinstance(node, Mapping) else {}
    return schema


def _value(
    name: str, schema: Mapping[str, Any], root: Mapping[str, Any], turn: Turn, depth: int = 0
) -> Any:
    schema = _resolve(schema, root)
    if depth > 8:
        raise _Unfillable(name)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    variants = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(variants, list) and variants:
        # Nullable optionals (strict schemas list them as required): null is honest and valid.
        if any(_resolve(v, root).get("type") == "null" for v in variants):
            return None
        return _value(name, variants[0], root, turn, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "string":
        if schema.get("format") == "uri" or any(h in name.casefold() for h in _URL_HINTS):
            sources = [turn.message, *(output for _, output in turn.outputs)]
            urls = [url for source in sources for url in text.find_urls(source)]
            if not urls:
                raise _Unfillable(name)
            return urls[0]
        if name.casefold() in _TOPIC_PARAMS:
            return text.extract_topic(turn.message).text
        return turn.message
    if kind in ("integer", "number"):
        value = schema.get("minimum", schema.get("default", 3))
        maximum = schema.get("maximum")
        return min(value, maximum) if isinstance(maximum, int | float) else value
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return _object(schema, root, turn, depth + 1)
    return None


def _object(
    schema: Mapping[str, Any], root: Mapping[str, Any], turn: Turn, depth: int
) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = schema.get("required") or []
    return {
        key: _value(key, properties[key], root, turn, depth)
        for key in required
        if key in properties
    }


def tool_arguments(tool: FunctionTool, turn: Turn) -> dict[str, Any] | None:
    """Arguments valid for the tool's JSON schema, or None when one cannot be made up."""
    try:
        return _object(tool.params_json_schema, tool.params_json_schema, turn, 0)
    except _Unfillable:
        return None


def _joke_count(turn: Turn) -> int | None:
    for name, output in reversed(turn.outputs):
        if name == JOKE_COUNT_TOOL:
            found = re.search(r"-?\d+", output)
            if found:
                return max(1, min(_MAX_JOKES, int(found.group())))
    return None


def plan_response(
    system_instructions: str | None,
    input: str | list[TResponseInputItem],
    tools: Sequence[Tool],
    handoffs: Sequence[Handoff[Any, Any]],
    *,
    allow_calls: bool = True,
) -> tuple[Plan, Turn]:
    """The next step and the turn it was read from; `allow_calls=False` is tool_choice="none"."""
    turn = read_turn(system_instructions, input, frozenset(h.tool_name for h in handoffs))
    if not allow_calls:
        return MessagePlan(_answer(turn, ())), turn
    # Routing once per user message is what stops specialists bouncing back and forth.
    may_route = bool(handoffs) and not turn.handed_off
    if may_route:
        target = route(turn.message, handoffs)
        if target is not None:
            return ToolCallPlan(target.tool_name, "{}"), turn
    for tool in tools:
        if isinstance(tool, FunctionTool) and tool.name not in turn.called:
            arguments = tool_arguments(tool, turn)
            if arguments is not None:
                return ToolCallPlan(tool.name, json.dumps(arguments, ensure_ascii=False)), turn
    return MessagePlan(_answer(turn, handoffs if may_route else ())), turn


def _answer(turn: Turn, handoffs: Sequence[Handoff[Any, Any]]) -> str:
    jokes = _joke_count(turn)
    if jokes is not None:
        return text.jokes_text(jokes, turn.message)
    if turn.outputs:
        return text.found_text([output for _, output in turn.outputs], turn.message)
    if handoffs:
        specialists = [(h.agent_name, handoff_description(h)) for h in handoffs]
        return text.specialists_text(specialists, turn.message)
    return text.no_knowledge_text(turn.message)
