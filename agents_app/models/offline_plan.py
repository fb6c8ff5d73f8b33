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
from agents_app.models.offline_args import tool_arguments
from agents_app.models.routing import keywords_of

JOKE_COUNT_TOOL = "how_many_jokes"
_HANDOFF_PREFIX = "transfer_to_"
# A question is weak evidence for a target that "answers questions": it loses to any keyword.
_QUESTION_TOKENS = ("question", "вопрос")
_QUESTION_WEIGHT = 0.5
_MAX_JOKES = 10
# How failed tool calls read to a model: the service's tool failures (`Error: …`) and the
# SDK's generic message for any other exception.
_ERROR_PREFIXES = ("Error:", "An error occurred while running the tool")


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
    sources: list[str] = field(default_factory=list)  # URLs given to calls that succeeded
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
    arguments_by_call: dict[str, str] = {}
    for item in input:
        kind = _get(item, "type")
        role = _get(item, "role")
        if role is not None and kind in (None, "message"):
            body = _content_text(_get(item, "content"))
            turn.input_chars += len(body)
            if role == "user":
                turn = Turn(message=body, input_chars=turn.input_chars)
                names_by_call, arguments_by_call = {}, {}
        elif kind == "function_call":
            name = str(_get(item, "name") or "")
            arguments = str(_get(item, "arguments") or "")
            names_by_call[str(_get(item, "call_id"))] = name
            arguments_by_call[str(_get(item, "call_id"))] = arguments
            turn.called.append(name)
            turn.input_chars += len(name) + len(arguments)
            if name.startswith(_HANDOFF_PREFIX) or name in handoff_names:
                turn.handed_off = True
        elif kind == "function_call_output":
            output = _content_text(_get(item, "output"))
            turn.input_chars += len(output)
            if _is_transfer_output(output):
                turn.handed_off = True
            else:
                call_id = str(_get(item, "call_id"))
                turn.outputs.append((names_by_call.get(call_id, ""), output))
                if not is_error_output(output):
                    turn.sources.extend(_url_arguments(arguments_by_call.get(call_id, "")))
    return turn


def _url_arguments(arguments: str) -> list[str]:
    """Argument values that are a URL and nothing else (a query that mentions one is not)."""
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return []
    values = parsed.values() if isinstance(parsed, dict) else ()
    return [v for v in values if isinstance(v, str) and text.find_urls(v) == [v.strip()]]


def is_error_output(output: str) -> bool:
    """A tool result that reports a failure: ours start with "Error:", the SDK's are fixed."""
    stripped = output.lstrip()
    return stripped.startswith(_ERROR_PREFIXES) or (
        stripped.startswith("Tool '") and " timed out after " in stripped
    )


def handoff_description(handoff: Handoff[Any, Any]) -> str:
    """The target's own description, without the SDK's "Handoff to the X agent…" preamble."""
    preamble = f"Handoff to the {handoff.agent_name} agent to handle the request."
    desc = handoff.tool_description
    if desc.startswith(preamble):
        desc = desc[len(preamble) :]
    return desc.strip()


def _route_score(message_tokens: Sequence[str], question: bool, h: Handoff[Any, Any]) -> float:
    target_id = h.tool_name.removeprefix(_HANDOFF_PREFIX)
    words = f"{target_id} {h.agent_name} {handoff_description(h)} {' '.join(keywords_of(h))}"
    target = {t for t in text.keywords(words) if t not in text.HANDOFF_TEMPLATE_WORDS}
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
    # After a failed call the next tools would only act on nothing: report instead.
    failed = any(is_error_output(output) for _, output in turn.outputs)
    good_outputs = [output for _, output in turn.outputs if not is_error_output(output)]
    for tool in tools if not failed else ():
        if isinstance(tool, FunctionTool) and tool.name not in turn.called:
            arguments = tool_arguments(tool, turn.message, [turn.message, *good_outputs])
            if arguments is not None:
                return ToolCallPlan(tool.name, json.dumps(arguments, ensure_ascii=False)), turn
    return MessagePlan(_answer(turn, handoffs if may_route else ())), turn


def _answer(turn: Turn, handoffs: Sequence[Handoff[Any, Any]]) -> str:
    jokes = _joke_count(turn)
    if jokes is not None:
        return text.jokes_text(jokes, turn.message)
    if turn.outputs:
        good = [output for _, output in turn.outputs if not is_error_output(output)]
        failures = [(name, out) for name, out in turn.outputs if is_error_output(out)]
        if not good:
            return text.tools_failed_text(failures, turn.message)
        return text.found_text(good, turn.message, sources=turn.sources, failures=failures)
    if handoffs:
        specialists = [(h.agent_name, handoff_description(h)) for h in handoffs]
        return text.specialists_text(specialists, turn.message)
    return text.no_knowledge_text(turn.message)
