"""A Reply as the OpenAI Responses API sends it: SSE events, or one Response JSON."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from agents_app.testing.scripted_steps import Reply, Text, ToolCall
from agents_app.testing.wire_common import Ids
from agents_app.testing.wire_validation import (
    JSONDict,
    validate_response,
    validate_response_event,
)


@dataclass(frozen=True)
class _Planned:
    item: Text | ToolCall
    item_id: str
    call_id: str  # unused for text


def _plan(reply: Reply, ids: Ids) -> list[_Planned]:
    planned = []
    for item in reply.items:
        if isinstance(item, Text):
            planned.append(_Planned(item, ids.new("msg"), ""))
        else:
            planned.append(_Planned(item, ids.new("fc"), item.call_id or ids.new("call")))
    return planned


def _usage(reply: Reply) -> JSONDict | None:
    if reply.usage is None:
        return None
    input_tokens, output_tokens = reply.usage
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def _text_part(text: str) -> JSONDict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _item(planned: _Planned, *, done: bool) -> JSONDict:
    status = "completed" if done else "in_progress"
    if isinstance(planned.item, Text):
        return {
            "type": "message",
            "id": planned.item_id,
            "role": "assistant",
            "status": status,
            "content": [_text_part(planned.item.text)] if done else [],
        }
    return {
        "type": "function_call",
        "id": planned.item_id,
        "call_id": planned.call_id,
        "name": planned.item.name,
        "arguments": planned.item.arguments if done else "",
        "status": status,
    }


def _response(
    response_id: str,
    model: str,
    created_at: int,
    output: list[JSONDict],
    usage: JSONDict | None,
    *,
    done: bool = True,
) -> JSONDict:
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "model": model,
        "status": "completed" if done else "in_progress",
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
    }


def response_events(reply: Reply, *, model: str, ids: Ids) -> list[JSONDict]:
    """Every SSE event of a streamed response, in order, validated against openai's types."""
    response_id = ids.new("resp")
    created_at = int(time.time())
    planned = _plan(reply, ids)
    events: list[JSONDict] = []

    def emit(event_type: str, **fields: Any) -> None:
        events.append({"type": event_type, "sequence_number": len(events), **fields})

    started = _response(response_id, model, created_at, [], None, done=False)
    emit("response.created", response=started)
    emit("response.in_progress", response=started)
    for index, plan in enumerate(planned):
        emit("response.output_item.added", output_index=index, item=_item(plan, done=False))
        where = {"item_id": plan.item_id, "output_index": index}
        if isinstance(plan.item, Text):
            text = plan.item.text
            emit("response.content_part.added", **where, content_index=0, part=_text_part(""))
            for delta in plan.item.deltas:
                emit(
                    "response.output_text.delta", **where, content_index=0, delta=delta, logprobs=[]
                )
            emit("response.output_text.done", **where, content_index=0, text=text, logprobs=[])
            emit("response.content_part.done", **where, content_index=0, part=_text_part(text))
        else:
            for fragment in plan.item.fragments:
                emit("response.function_call_arguments.delta", **where, delta=fragment)
            emit("response.function_call_arguments.done", **where, arguments=plan.item.arguments)
        emit("response.output_item.done", output_index=index, item=_item(plan, done=True))
    output = [_item(plan, done=True) for plan in planned]
    emit(
        "response.completed",
        response=_response(response_id, model, created_at, output, _usage(reply)),
    )

    for event in events:
        validate_response_event(event)
    return events


def response_json(reply: Reply, *, model: str, ids: Ids) -> JSONDict:
    """The body of a non-streaming `POST /responses`, validated against openai's Response."""
    response_id = ids.new("resp")
    output = [_item(plan, done=True) for plan in _plan(reply, ids)]
    response = _response(response_id, model, int(time.time()), output, _usage(reply))
    validate_response(response)
    return response
