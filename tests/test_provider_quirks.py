"""Quirks of real OpenAI-compatible servers (llama.cpp's, docs/local-llm.md), played by the
scripted server, so `make test` keeps them fixed without the local model."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx2
import pytest

from agents_app.engine import Engine
from agents_app.models.compat import StreamCutShort, _FinishCheckingStream
from agents_app.testing import EndEarly, Reply, ScriptedOpenAIServer, Text, ToolCall
from tests.conftest import JOKE_RUN_TYPES
from tests.test_model_backends import JOKE_SCRIPT, remote_settings, run

TERMINAL = {"run.completed", "run.failed", "run.cancelled"}


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
@pytest.mark.parametrize("after_events", [0, 3])
async def test_a_stream_that_ends_without_finishing_is_a_failed_run(
    srv: ScriptedOpenAIServer, api: str, after_events: int
) -> None:
    # llama.cpp's server, when generation fails after its 200 headers: the body just ends.
    # Read as a finished stream, the user got run.completed with no (or half the) text.
    srv.enqueue(EndEarly(after_events=after_events))
    events = await run(Engine.from_settings(remote_settings(srv, api=api)), "hi")
    assert [e.type for e in events if e.type in TERMINAL] == ["run.failed"]
    failed = events[-1]
    assert failed.type == "run.failed"
    assert (failed.code, failed.retryable) == ("model_error", True)


async def test_a_tool_calling_turn_sends_text_content_to_a_generic_server(
    srv: ScriptedOpenAIServer,
) -> None:
    # llama.cpp's server answers `"content": null` with a 500 and a missing key with a
    # failed stream; "" is what every server accepts.
    srv.enqueue(*JOKE_SCRIPT)
    events = await run(Engine.from_settings(remote_settings(srv, api="chat_completions")))
    assert events[-1].type == "run.completed"
    later = srv.requests[1].body["messages"]
    calls = [m for m in later if m["role"] == "assistant" and m.get("tool_calls")]
    assert calls and all(m["content"] == "" for m in calls)


async def test_yandex_keeps_the_sdks_null_content(srv: ScriptedOpenAIServer) -> None:
    # Only generic servers get the rewrite: what AI Studio accepts is not guessed at here.
    srv.enqueue(Reply([ToolCall("transfer_to_joker")]), Reply([Text("Hi")]))
    settings = remote_settings(srv, provider="yandex", folder_id="b1g", api="chat_completions")
    events = await run(Engine.from_settings(settings), "hi")
    assert events[-1].type == "run.completed"
    later = srv.requests[1].body["messages"]
    calls = [m for m in later if m["role"] == "assistant" and m.get("tool_calls")]
    assert calls and all(m["content"] is None for m in calls)


class _Chunks(httpx2.AsyncByteStream):
    def __init__(self, *chunks: bytes) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


async def _drain(*chunks: bytes) -> bytes:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    stream = _FinishCheckingStream(_Chunks(*chunks), request)
    return b"".join([chunk async for chunk in stream])


async def test_a_finish_marker_split_across_reads_counts() -> None:
    first = json.dumps({"choices": [{"delta": {}, "finish_reason": "stop"}]}).encode()
    assert await _drain(b'data: {"choices":[]}\n\ndata: [DO', b"NE]\n\n")
    # A server that sends no [DONE] but finishes its last choice.
    assert await _drain(b"data: " + first[:20], first[20:] + b"\n\n")
    with pytest.raises(StreamCutShort):
        await _drain(b'data: {"choices":[{"delta":{"content":"hi"},"finish_reason":null}]}\n\n')


async def test_a_joke_run_in_llama_cpps_dialect(srv: ScriptedOpenAIServer) -> None:
    # Every tool-call fragment repeats the call's id and name, beside a legacy function_call
    # delta: still one tool.call.started per call, with the whole arguments; no usage chunk.
    srv.enqueue(
        *(Reply(step.items, usage=None, dialect="llama.cpp") for step in JOKE_SCRIPT[:1]),
        Reply([ToolCall("how_many_jokes", arguments="{ }")], usage=None, dialect="llama.cpp"),
        Reply(JOKE_SCRIPT[2].items, usage=None, dialect="llama.cpp"),
    )
    events = await run(Engine.from_settings(remote_settings(srv, api="chat_completions")))
    assert [e.type for e in events if e.type != "text.delta"] == JOKE_RUN_TYPES
    started = [e for e in events if e.type == "tool.call.started"]
    assert len(started) == 1 and started[0].arguments == {}
    assert started[0].call_id.startswith("call__0_how_many_jokes_cmpl-")
    assert events[-1].usage.input_tokens is None and events[-1].usage.requests == 3
