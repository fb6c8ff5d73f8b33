"""llama.cpp's server on the wire, beside the scripted server playing it (`dialect="llama.cpp"`):
the recorded differences of docs/local-llm.md, checked against the real thing so the fake
cannot drift from it. Raw HTTP, no openai client: what the server really sends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agents_app.testing import Reply, ScriptedOpenAIServer, Text, ToolCall
from agents_app.testing.llama_server import LlamaServer

pytestmark = [pytest.mark.local_llm, pytest.mark.timeout(300)]

TOOL = {
    "type": "function",
    "function": {
        "name": "how_many_jokes",
        "description": "How many jokes to tell.",
        "parameters": {"type": "object", "properties": {}},
    },
}
ASK = [{"role": "user", "content": "Tell me a joke about cats"}]


@pytest.fixture(scope="module")
def llama() -> Iterator[LlamaServer]:
    with LlamaServer() as server:
        yield server


def stream(base_url: str, body: dict[str, Any]) -> tuple[httpx.Response, list[str]]:
    """The response and its `data:` payloads, in order (the stream read to its end)."""
    body = {"model": "smollm2", "stream": True, "temperature": 0, **body}
    with httpx.stream("POST", f"{base_url}/chat/completions", json=body, timeout=120) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
    return response, [line.removeprefix("data:").strip() for line in lines]


def shapes(payloads: list[str]) -> list[tuple[Any, ...]]:
    """Each chunk's shape: which keys it, its choice, delta and tool call have (values aside)."""
    out = []
    for payload in payloads[:-1]:
        chunk = json.loads(payload)
        choice = chunk["choices"][0] if chunk["choices"] else {}
        delta = choice.get("delta") or {}
        calls = delta.get("tool_calls") or [{}]
        out.append(
            (
                tuple(sorted(chunk)),
                tuple(sorted(choice)),
                tuple(sorted(k for k, v in delta.items() if v is not None)),
                tuple(sorted(k for k in delta if delta[k] is None)),
                tuple(sorted(calls[0])),
                choice.get("finish_reason") is not None,
            )
        )
    return out


def test_a_text_stream(llama: LlamaServer) -> None:
    body = {"messages": ASK, "max_tokens": 8, "stream_options": {"include_usage": True}}
    response, real = stream(llama.base_url, body)
    with ScriptedOpenAIServer([Reply([Text("Why did the cat")], dialect="llama.cpp")]) as srv:
        _, fake = stream(srv.base_url, body)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert real[-1] == fake[-1] == "[DONE]"
    assert set(shapes(real)) == set(shapes(fake))
    first = json.loads(real[0])
    assert re.fullmatch(r"chatcmpl-[0-9a-f-]{36}", first["id"])
    assert first["model"] == "smollm2" and "system_fingerprint" not in first
    assert first["choices"][0]["delta"] == {"role": "assistant"}  # no content key
    # include_usage is ignored: no chunk with usage, no chunk without choices.
    assert all(json.loads(p).get("usage") is None and json.loads(p)["choices"] for p in real[:-1])
    assert json.loads(real[-2])["choices"][0]["finish_reason"] == "length"  # max_tokens hit


def test_a_forced_tool_call_stream(llama: LlamaServer) -> None:
    named = {"type": "function", "function": {"name": "how_many_jokes"}}
    body = {"messages": ASK, "tools": [TOOL], "tool_choice": named}
    _, real = stream(llama.base_url, body)
    with ScriptedOpenAIServer(
        [Reply([ToolCall("how_many_jokes", arguments="{ }")], dialect="llama.cpp")]
    ) as srv:
        _, fake = stream(srv.base_url, body)
    assert set(shapes(real)) == set(shapes(fake))
    calls = [json.loads(p)["choices"][0]["delta"]["tool_calls"] for p in real[1:-2]]
    ids = {call[0]["id"] for call in calls}
    assert len(ids) == 1 and re.fullmatch(r"call__0_how_many_jokes_cmpl-[0-9a-f-]{36}", ids.pop())
    assert all(call[0]["function"]["name"] == "how_many_jokes" for call in calls)
    assert json.loads(real[-2])["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("tool_choice", ["auto", "required"])
def test_an_unforced_tool_choice_while_streaming_is_an_empty_200(
    llama: LlamaServer, tool_choice: str
) -> None:
    # chatml-function-calling streams only a named tool choice; anything else fails after the
    # 200 headers and the body just ends (what EndEarly plays; compat.py turns it into a
    # failed run). Without tool_choice the tools are not shown to the model at all.
    body = {"messages": ASK, "tools": [TOOL], "tool_choice": tool_choice}
    response, real = stream(llama.base_url, body)
    assert response.status_code == 200 and real == []


def test_null_content_is_a_500_and_a_missing_one_an_empty_stream(llama: LlamaServer) -> None:
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "how_many_jokes", "arguments": "{}"},
    }
    result = {"role": "tool", "tool_call_id": "c1", "content": "3"}
    messages = [*ASK, {"role": "assistant", "content": None, "tool_calls": [call]}, result]
    response, _ = stream(llama.base_url, {"messages": messages})
    assert response.status_code == 500  # a bad request, answered as a server error
    missing = [*ASK, {"role": "assistant", "tool_calls": [call]}, result]
    response, real = stream(llama.base_url, {"messages": missing})
    assert response.status_code == 200 and real == []
    text = [*ASK, {"role": "assistant", "content": "", "tool_calls": [call]}, result]
    response, real = stream(llama.base_url, {"messages": text, "max_tokens": 4})
    assert response.status_code == 200 and real[-1] == "[DONE]"


def test_the_responses_api_is_not_there(llama: LlamaServer) -> None:
    response = httpx.post(f"{llama.base_url}/responses", json={"model": "smollm2", "input": "hi"})
    assert response.status_code == 404
