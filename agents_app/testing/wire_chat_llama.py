"""Chat Completions chunks the way llama-cpp-python's server (0.3.36) streams them.

Recorded from the real server (tests/test_local_llm_wire.py checks these against it; the
whole list is in docs/local-llm.md). The OpenAI-shaped chunks of `wire_chat` are rewritten:

- ids are `chatcmpl-<uuid>`; a tool call's id is `call__<index>_<name>_cmpl-<uuid>`;
- every choice carries `"logprobs": null`;
- the role chunk has no `content` (a tool-calling reply spells out `content`,
  `function_call` and `tool_calls` as null, and so does its finish chunk);
- every tool-call fragment repeats `id`, `type` and `function.name`, beside a legacy
  `function_call` delta, and the arguments end with an empty fragment;
- there is no usage chunk, whatever `stream_options` asked.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from agents_app.testing.wire_validation import JSONDict, validate_chat_chunk

_NULL_DELTA = {"role": None, "content": None, "function_call": None, "tool_calls": None}


def as_llama_cpp(chunks: list[JSONDict]) -> list[JSONDict]:
    completion = f"cmpl-{uuid.uuid4()}"
    calls = any("tool_calls" in choice["delta"] for chunk in chunks for choice in chunk["choices"])
    known: dict[int, dict[str, Any]] = {}  # tool-call index → its id, type and name
    out: list[JSONDict] = []
    for chunk in chunks:
        if not chunk["choices"]:
            continue  # the usage chunk: never sent
        rewritten = copy.deepcopy(chunk) | {"id": f"chat{completion}"}
        choice = rewritten["choices"][0]
        choice["logprobs"] = None
        delta = choice["delta"]
        if delta.get("role") == "assistant":
            choice["delta"] = (
                _NULL_DELTA | {"role": "assistant"} if calls else {"role": "assistant"}
            )
        elif "tool_calls" in delta:
            _repeat_call_fields(delta, known, completion)
        elif choice["finish_reason"] is not None and calls:
            _close_arguments(out, known, rewritten)
            choice["delta"] = dict(_NULL_DELTA)
        out.append(rewritten)
    for chunk in out:
        validate_chat_chunk(chunk)
    return out


def _repeat_call_fields(delta: JSONDict, known: dict[int, dict[str, Any]], completion: str) -> None:
    (call,) = delta["tool_calls"]
    index = call["index"]
    if index not in known:
        name = call["function"]["name"]
        known[index] = {
            "id": f"call__{index}_{name}_{completion}",
            "type": "function",
            "name": name,
        }
    first = known[index]
    arguments = call["function"].get("arguments", "")
    function = {"name": first["name"], "arguments": arguments}
    delta.clear()
    delta.update(
        {
            "role": None,
            "content": None,
            "function_call": dict(function),
            "tool_calls": [
                {"index": index, "id": first["id"], "type": "function", "function": function}
            ],
        }
    )


def _close_arguments(out: list[JSONDict], known: dict[int, dict[str, Any]], like: JSONDict) -> None:
    # llama.cpp ends each call's arguments with an empty fragment before the finish chunk.
    for index in known:
        closing = copy.deepcopy(like)
        closing["choices"][0]["finish_reason"] = None
        closing["choices"][0]["delta"] = {"tool_calls": [{"index": index, "function": {}}]}
        _repeat_call_fields(closing["choices"][0]["delta"], known, "")
        out.append(closing)
