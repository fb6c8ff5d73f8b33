"""A Reply as the Chat Completions API sends it: stream chunks, or one ChatCompletion JSON.

Chat Completions has one content string per message, so all Text items are streamed first
(concatenated) and tool calls after them, whatever their order in the Reply.
"""

from __future__ import annotations

import time
from typing import Any

from agents_app.testing.scripted_steps import Reply, Text, ToolCall
from agents_app.testing.wire_common import Ids
from agents_app.testing.wire_validation import (
    JSONDict,
    validate_chat_chunk,
    validate_chat_completion,
)


def _usage(reply: Reply) -> JSONDict | None:
    if reply.usage is None:
        return None
    prompt_tokens, completion_tokens = reply.usage
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def _split(reply: Reply, ids: Ids) -> tuple[list[Text], list[tuple[ToolCall, str]]]:
    texts = [item for item in reply.items if isinstance(item, Text)]
    calls = [
        (item, item.call_id or ids.new("call"))
        for item in reply.items
        if isinstance(item, ToolCall)
    ]
    return texts, calls


def chat_chunks(reply: Reply, *, model: str, ids: Ids, include_usage: bool) -> list[JSONDict]:
    """Every `data:` chunk of a streamed completion (without `[DONE]`), validated."""
    completion_id = ids.new("chatcmpl")
    created = int(time.time())
    texts, calls = _split(reply, ids)
    chunks: list[JSONDict] = []

    def emit(choices: list[JSONDict], **extra: Any) -> None:
        chunks.append(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": choices,
                **extra,
            }
        )

    def emit_delta(delta: JSONDict, finish_reason: str | None = None) -> None:
        emit([{"index": 0, "delta": delta, "finish_reason": finish_reason}])

    emit_delta({"role": "assistant", "content": ""})
    for text in texts:
        for delta in text.deltas:
            emit_delta({"content": delta})
    for index, (call, call_id) in enumerate(calls):
        function = {"name": call.name, "arguments": ""}
        emit_delta(
            {
                "tool_calls": [
                    {"index": index, "id": call_id, "type": "function", "function": function}
                ]
            }
        )
        for fragment in call.fragments:
            emit_delta({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
    emit_delta({}, "tool_calls" if calls else "stop")
    if include_usage and reply.usage is not None:
        emit([], usage=_usage(reply))

    for chunk in chunks:
        validate_chat_chunk(chunk)
    return chunks


def chat_completion_json(reply: Reply, *, model: str, ids: Ids) -> JSONDict:
    """The body of a non-streaming `POST /chat/completions`, validated."""
    completion_id = ids.new("chatcmpl")
    texts, calls = _split(reply, ids)
    message: JSONDict = {
        "role": "assistant",
        "content": "".join(text.text for text in texts) if texts else None,
    }
    if calls:
        message["tool_calls"] = [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call, call_id in calls
        ]
    completion = {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if calls else "stop",
            }
        ],
        "usage": _usage(reply),
    }
    validate_chat_completion(completion)
    return completion
