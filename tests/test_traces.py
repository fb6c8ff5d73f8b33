"""Traces: a run as OpenTelemetry spans (GenAI conventions), exported over OTLP to a receiver
that decodes the real protobuf payload; off and free when the OTEL_* variables are unset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect

from agents_app.engine import Engine
from agents_app.testing import Reply, ScriptedOpenAIServer, Text
from tests.conftest import is_terminal, live_server, offline_settings, ready, recv_until
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.test_gateway import function_env  # noqa: F401 (fixture)
from tests.test_model_backends import JOKE_SCRIPT, remote_settings

JOKE = "Tell me a joke about programming"
PARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{PARENT_TRACE}-{PARENT_SPAN}-01"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    running = OtlpReceiver()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", running.endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "agents-test")
    yield running
    running.close()


async def traced_run(engine: Engine, text: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    assert engine.tracing is not None
    try:
        async with (
            live_server(engine) as live,
            connect(live.url, additional_headers=headers, max_size=None) as ws,
        ):
            await ready(ws)
            await ws.send(json.dumps({"type": "user.message", "text": text}))
            events = await recv_until(ws, is_terminal)
        assert engine.tracing.flush()
    finally:
        engine.tracing.shutdown()
    return events


def children(spans: list[ReceivedSpan], parent: ReceivedSpan) -> list[ReceivedSpan]:
    return [s for s in spans if s.parent_span_id == parent.span_id]


def below(spans: list[ReceivedSpan], parent: ReceivedSpan) -> list[ReceivedSpan]:
    found = []
    for child in children(spans, parent):
        found += [child, *below(spans, child)]
    return found


async def test_a_run_is_one_span_tree_under_the_clients_traceparent(
    receiver: OtlpReceiver,
) -> None:
    engine = Engine.from_settings(offline_settings())
    events = await traced_run(engine, JOKE, {"traceparent": TRACEPARENT})
    started, terminal = events[0], events[-1]
    spans = receiver.spans
    [root] = [s for s in spans if s.attributes.get("agents_app.run_id") == started["run_id"]]
    # Under the caller's trace, and the client was told which one.
    assert root.trace_id == PARENT_TRACE and root.parent_span_id == PARENT_SPAN
    assert started["trace_id"] == PARENT_TRACE
    assert root.service == "agents-test"
    assert root.name == "invoke_agent triage"
    assert root.attributes["gen_ai.conversation.id"] == started["conversation_id"]
    assert root.attributes["agents_app.run.outcome"] == terminal["type"].removeprefix("run.")
    assert root.attributes["agents_app.time_to_first_delta_ms"] >= 0
    tree = below(spans, root)
    assert all(s.trace_id == PARENT_TRACE for s in tree)
    names = [s.name for s in tree]
    assert "invoke_agent triage" in names and "invoke_agent joker" in names
    assert "handoff triage → joker" in names
    # The tool call sits under the agent that made it, with the conventions' attributes.
    [joker] = [s for s in tree if s.name == "invoke_agent joker"]
    [tool] = [s for s in below(spans, joker) if s.name == "execute_tool how_many_jokes"]
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "how_many_jokes"
    # Model calls: which model, how many tokens — adding up to the run's usage.
    chats = [s for s in tree if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert chats and all(s.attributes.get("gen_ai.request.model") for s in chats)
    assert (
        sum(s.attributes["gen_ai.usage.input_tokens"] for s in chats)
        == terminal["usage"]["input_tokens"]
    )
    # No prompt or completion text unless asked for.
    assert not any("gen_ai.input.messages" in s.attributes for s in tree)


async def test_content_only_when_asked_and_never_a_secret(receiver: OtlpReceiver) -> None:
    secret = "sk-very-secret-0123456789"
    engine = Engine.from_settings(offline_settings(trace_content=True, api_key=secret))
    await traced_run(engine, f"Tell me a joke about {secret}", {})
    recorded = [
        s.attributes["gen_ai.input.messages"]
        for s in receiver.spans
        if "gen_ai.input.messages" in s.attributes
    ]
    assert recorded and any("Tell me a joke about" in text for text in recorded)
    assert not any(secret in json.dumps(s.attributes) for s in receiver.spans)


async def test_without_otel_variables_nothing_is_traced(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    engine = Engine.from_settings(offline_settings())
    assert engine.tracing is None
    assert engine.run_config().tracing_disabled
    async with live_server(engine) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(json.dumps({"type": "user.message", "text": JOKE}))
        events = await recv_until(ws, is_terminal)
    assert events[0]["trace_id"] is None


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_model_calls_of_an_openai_compatible_backend(
    receiver: OtlpReceiver, srv: ScriptedOpenAIServer, api: str
) -> None:
    srv.enqueue(*JOKE_SCRIPT)
    engine = Engine.from_settings(remote_settings(srv, api=api))
    events = await traced_run(engine, JOKE, {})
    chats = [s for s in receiver.spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert len(chats) == 3  # one per request the scripted server answered
    assert {s.attributes["gen_ai.request.model"] for s in chats} == {"yandexgpt/latest"}
    assert all(s.kind == 3 for s in chats)  # SPAN_KIND_CLIENT: a call out of the service
    usage = events[-1]["usage"]
    assert sum(s.attributes["gen_ai.usage.input_tokens"] for s in chats) == usage["input_tokens"]
    assert sum(s.attributes["gen_ai.usage.output_tokens"] for s in chats) == usage["output_tokens"]


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_a_model_call_without_usage_has_no_token_attributes(
    receiver: OtlpReceiver, srv: ScriptedOpenAIServer, api: str
) -> None:
    # The SDK records a usage-less request as zeros; 0 tokens on the span would be wrong.
    srv.enqueue(Reply([Text("Hello there")], usage=None))
    engine = Engine.from_settings(remote_settings(srv, api=api))
    events = await traced_run(engine, "hi", {})
    assert events[-1]["usage"]["input_tokens"] is None
    [chat] = [s for s in receiver.spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert "gen_ai.usage.input_tokens" not in chat.attributes
    assert "gen_ai.usage.output_tokens" not in chat.attributes


async def test_the_function_takes_the_gateways_traceparent(
    receiver: OtlpReceiver,
    function_env: dict[str, str],  # noqa: F811
) -> None:
    from websockets.asyncio.client import connect as ws_connect

    from agents_app.cloud.runtime import get_runtime, reset_runtime
    from agents_app.gateway.serve import load_handler, running_gateway

    reset_runtime()
    try:
        async with (
            running_gateway(load_handler(), port=0) as gateway,
            ws_connect(
                gateway.url, additional_headers={"traceparent": TRACEPARENT}, max_size=None
            ) as ws,
        ):
            await ws.send(JOKE)
            events = await recv_until(ws, is_terminal)
        tracing = get_runtime().engine.tracing
        assert tracing is not None and tracing.flush()
        tracing.shutdown()
    finally:
        reset_runtime()
    started = next(e for e in events if e["type"] == "run.started")
    assert started["trace_id"] == PARENT_TRACE
    [root] = [
        s for s in receiver.spans if s.attributes.get("agents_app.run_id") == started["run_id"]
    ]
    assert root.parent_span_id == PARENT_SPAN
    assert any(s.name == "execute_tool how_many_jokes" for s in receiver.spans)
