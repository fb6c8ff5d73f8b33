"""A rehearsal of the model path, with no network: what a process's first streamed run pays.

The first streamed run in a process builds openai's pydantic models lazily (the Responses
resource and its stream-event union, Chat Completions chunks) and walks SDK code nothing has
run yet: ≈ 0.3–0.5 s here (DESIGN §6 says ≈ 1 s). `rehearse` runs one tool call and one text
answer through the real SDK and the real openai client, answered in memory by a transport
that serves a canned stream, so a warm-up can pay that before the first message does.
Nothing leaves the process and nothing is stored: no session, tracing off.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
from agents import (
    Agent,
    Model,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    function_tool,
)
from openai import AsyncOpenAI

JSON = dict[str, Any]
MODEL = "rehearsal"
ANSWER = "Warm."
_BASE_URL = "http://rehearsal.invalid/v1"  # never resolved: the transport answers in memory


@function_tool
def rehearsal_tool() -> int:
    """Return one (the rehearsal's tool call)."""
    return 1


async def rehearse(*, use_responses: bool) -> int:
    """One streamed run (a tool call, then text) on the Responses API or Chat Completions;
    returns how many stream events it saw."""
    turns = responses_turns() if use_responses else chat_turns()
    transport = httpx2.MockTransport(_serve(turns))
    async with httpx2.AsyncClient(transport=transport) as http:
        client = AsyncOpenAI(
            api_key="rehearsal", base_url=_BASE_URL, http_client=http, max_retries=0
        )
        model: Model
        if use_responses:
            model = OpenAIResponsesModel(model=MODEL, openai_client=client)
        else:
            model = OpenAIChatCompletionsModel(model=MODEL, openai_client=client)
        agent = Agent(name="rehearsal", instructions="", model=model, tools=[rehearsal_tool])
        result = Runner.run_streamed(
            agent, "warm up", run_config=RunConfig(tracing_disabled=True), max_turns=3
        )
        seen = 0
        async for _ in result.stream_events():
            seen += 1
    if result.final_output != ANSWER:
        raise RuntimeError(f"the rehearsal ended with {result.final_output!r}")
    return seen


def _serve(turns: list[list[JSON | str]]) -> Callable[[httpx2.Request], httpx2.Response]:
    """Answer each model request with the next turn's stream (Server-Sent Events)."""
    remaining = iter(turns)

    def answer(request: httpx2.Request) -> httpx2.Response:
        events = next(remaining)
        body = "".join(
            f"data: {event if isinstance(event, str) else json.dumps(event)}\n\n"
            for event in events
        )
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, content=body.encode()
        )

    return answer


def _usage() -> JSON:
    return {
        "input_tokens": 1,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 1,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 2,
    }


def _response(status: str, output: list[JSON]) -> JSON:
    response: JSON = {
        "id": "resp_rehearsal",
        "object": "response",
        "created_at": 0,
        "model": MODEL,
        "status": status,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }
    if status == "completed":
        response["usage"] = _usage()
    return response


def _responses_turn(item: JSON, deltas: list[JSON]) -> list[JSON | str]:
    """response.created, the item added, its deltas, the item done, response.completed."""
    open_item = item | {"status": "in_progress"}
    if item["type"] == "message":
        open_item["content"] = []
    else:
        open_item["arguments"] = ""
    events: list[JSON] = [
        {"type": "response.created", "response": _response("in_progress", [])},
        {"type": "response.output_item.added", "output_index": 0, "item": open_item},
        *deltas,
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": _response("completed", [item])},
    ]
    return [event | {"sequence_number": number} for number, event in enumerate(events)]


def responses_turns() -> list[list[JSON | str]]:
    call = {
        "type": "function_call",
        "id": "fc_rehearsal",
        "call_id": "call_rehearsal",
        "name": rehearsal_tool.name,
        "arguments": "{}",
        "status": "completed",
    }
    arguments = {
        "type": "response.function_call_arguments.delta",
        "item_id": "fc_rehearsal",
        "output_index": 0,
        "delta": "{}",
    }
    message = {
        "type": "message",
        "id": "msg_rehearsal",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": ANSWER, "annotations": [], "logprobs": []}],
    }
    text = {
        "type": "response.output_text.delta",
        "item_id": "msg_rehearsal",
        "output_index": 0,
        "content_index": 0,
        "delta": ANSWER,
        "logprobs": [],
    }
    return [_responses_turn(call, [arguments]), _responses_turn(message, [text])]


def _chunk(delta: JSON, finish_reason: str | None = None) -> JSON:
    return {
        "id": "chatcmpl_rehearsal",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def _usage_chunk() -> JSON:
    return {
        "id": "chatcmpl_rehearsal",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": MODEL,
        "choices": [],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def chat_turns() -> list[list[JSON | str]]:
    call = {
        "index": 0,
        "id": "call_rehearsal",
        "type": "function",
        "function": {"name": rehearsal_tool.name, "arguments": ""},
    }
    arguments = {"index": 0, "function": {"arguments": "{}"}}
    return [
        [
            _chunk({"role": "assistant", "tool_calls": [call]}),
            _chunk({"tool_calls": [arguments]}),
            _chunk({}, "tool_calls"),
            _usage_chunk(),
            "[DONE]",
        ],
        [
            _chunk({"role": "assistant", "content": ANSWER}),
            _chunk({}, "stop"),
            _usage_chunk(),
            "[DONE]",
        ],
    ]
