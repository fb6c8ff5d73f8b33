"""The scripted server against the real openai client and the real openai-agents runner."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from agents import (
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    function_tool,
)
from agents.models.interface import Model
from openai import AsyncOpenAI

from agents_app.testing import (
    BreakStream,
    Fail,
    Malformed,
    Reply,
    ScriptedOpenAIServer,
    Stall,
    Text,
    ToolCall,
    WireDriftError,
)
from agents_app.testing.scripted_steps import split_fragments, split_words
from agents_app.testing.wire_validation import validate_chat_chunk, validate_response_event

# The drift tests run a pytest session of their own.
pytest_plugins = ["pytester"]

USER = [{"role": "user", "content": "hi"}]


@pytest.fixture
async def client(srv: ScriptedOpenAIServer) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=srv.base_url, api_key="test", max_retries=0) as c:
        yield c


# -- Responses API -------------------------------------------------------------------------


async def test_responses_stream_text(srv: ScriptedOpenAIServer, client: AsyncOpenAI) -> None:
    srv.enqueue(Reply([Text("Hello brave world")], usage=(7, 3)))

    stream = await client.responses.create(model="m", input="hi", stream=True)
    events = [event async for event in stream]

    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert deltas == ["Hello", " brave", " world"]
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.id == "resp_1"
    assert completed.response.model == "m"
    assert completed.response.output_text == "Hello brave world"
    assert completed.response.output[0].id == "msg_1"
    usage = completed.response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (7, 3, 10)
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 0


async def test_responses_stream_tool_call(srv: ScriptedOpenAIServer, client: AsyncOpenAI) -> None:
    srv.enqueue(Reply([ToolCall("how_many_jokes", '{"n": 3}', chunks=3)]))

    stream = await client.responses.create(model="m", input="hi", stream=True)
    events = [event async for event in stream]

    added = events[2]
    assert added.type == "response.output_item.added"
    assert added.item.type == "function_call"
    assert (added.item.name, added.item.call_id, added.item.id) == (
        "how_many_jokes",
        "call_1",
        "fc_1",
    )
    fragments = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(fragments) == 3
    assert "".join(fragments) == '{"n": 3}'
    done = events[-2]
    assert done.type == "response.output_item.done"
    assert done.item.type == "function_call"
    assert done.item.arguments == '{"n": 3}'
    assert events[-1].type == "response.completed"


async def test_responses_not_streamed(srv: ScriptedOpenAIServer, client: AsyncOpenAI) -> None:
    srv.enqueue(Reply([Text("plain"), ToolCall("f", call_id="call_x")]))

    response = await client.responses.create(model="m", input="hi")

    assert response.output_text == "plain"
    call = response.output[1]
    assert call.type == "function_call"
    assert call.call_id == "call_x"
    assert response.usage is not None
    assert response.usage.total_tokens == 15


# -- Chat Completions ----------------------------------------------------------------------


@pytest.mark.parametrize("include_usage", [True, False])
async def test_chat_stream(
    srv: ScriptedOpenAIServer, client: AsyncOpenAI, include_usage: bool
) -> None:
    srv.enqueue(Reply([Text("Hi there", chunks=["H", "i there"]), ToolCall("f", '{"a":1}')]))

    stream = await client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": include_usage},
    )
    chunks = [chunk async for chunk in stream]

    with_choices = [c for c in chunks if c.choices]
    assert with_choices[0].choices[0].delta.role == "assistant"
    content = [c.choices[0].delta.content for c in with_choices if c.choices[0].delta.content]
    assert content == ["H", "i there"]
    calls = [tc for c in with_choices for tc in c.choices[0].delta.tool_calls or []]
    assert calls[0].id == "call_1"
    assert calls[0].function is not None
    assert calls[0].function.name == "f"
    assert "".join(tc.function.arguments or "" for tc in calls if tc.function) == '{"a":1}'
    assert with_choices[-1].choices[0].finish_reason == "tool_calls"
    usage_chunks = [c for c in chunks if not c.choices]
    if include_usage:
        assert len(usage_chunks) == 1
        assert usage_chunks[0].usage is not None
        assert usage_chunks[0].usage.total_tokens == 15
    else:
        assert usage_chunks == []
        assert all(c.usage is None for c in chunks)


async def test_chat_not_streamed(srv: ScriptedOpenAIServer, client: AsyncOpenAI) -> None:
    srv.enqueue(Text("done"))

    completion = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}]
    )

    assert completion.choices[0].message.content == "done"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 10


# -- failures ------------------------------------------------------------------------------


async def test_fail_429_is_rate_limit_error(srv: ScriptedOpenAIServer, client: AsyncOpenAI) -> None:
    srv.enqueue(Fail(429, headers={"Retry-After": "7"}))

    with pytest.raises(openai.RateLimitError) as caught:
        await client.responses.create(model="m", input="hi", stream=True)

    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.code == "rate_limit_exceeded"


async def test_fail_500_is_internal_server_error(
    srv: ScriptedOpenAIServer, client: AsyncOpenAI
) -> None:
    srv.enqueue(Fail(500, body={"error": {"message": "boom", "type": "server_error"}}))

    with pytest.raises(openai.InternalServerError, match="boom"):
        await client.chat.completions.create(model="m", messages=[], stream=True)


async def test_exhausted_script_fails_loudly(
    srv: ScriptedOpenAIServer, client: AsyncOpenAI
) -> None:
    with pytest.raises(openai.InternalServerError, match="script ran out"):
        await client.responses.create(model="m", input="hi")


async def test_unknown_route_is_404_and_keeps_the_script(
    srv: ScriptedOpenAIServer, client: AsyncOpenAI
) -> None:
    srv.enqueue(Text("kept"))

    with pytest.raises(openai.NotFoundError, match="no route"):
        await client.models.list()

    assert srv.remaining == 1


async def test_break_stream_drops_connection(
    srv: ScriptedOpenAIServer, client: AsyncOpenAI
) -> None:
    srv.enqueue(BreakStream(after_events=4))
    seen: list[str] = []

    stream = await client.responses.create(model="m", input="hi", stream=True)
    with pytest.raises(openai.APIConnectionError):
        async for event in stream:
            seen.append(event.type)

    assert len(seen) == 4


async def test_malformed_line_breaks_the_client(
    srv: ScriptedOpenAIServer, client: AsyncOpenAI
) -> None:
    srv.enqueue(Malformed("{not json", after_events=1))
    seen: list[str] = []

    stream = await client.responses.create(model="m", input="hi", stream=True)
    with pytest.raises(json.JSONDecodeError):
        async for event in stream:
            seen.append(event.type)

    assert seen == ["response.created"]


async def test_stall_trips_the_read_timeout(srv: ScriptedOpenAIServer, client: AsyncOpenAI) -> None:
    srv.enqueue(Stall(30))

    with pytest.raises(openai.APITimeoutError):
        await client.with_options(timeout=0.2).responses.create(model="m", input="hi", stream=True)


async def test_requests_are_recorded(srv: ScriptedOpenAIServer, client: AsyncOpenAI) -> None:
    srv.enqueue(Text("a"), Text("b"))

    await client.responses.create(model="m1", input="hi")
    await client.chat.completions.create(model="m2", messages=[{"role": "user", "content": "x"}])

    first, second = srv.requests
    assert (first.method, first.path, first.body["model"]) == ("POST", "/v1/responses", "m1")
    assert first.headers["authorization"] == "Bearer test"
    assert (second.path, second.body["messages"]) == (
        "/v1/chat/completions",
        [{"role": "user", "content": "x"}],
    )
    assert srv.remaining == 0


# -- openai-agents end to end --------------------------------------------------------------


def _responses_model(client: AsyncOpenAI) -> Model:
    return OpenAIResponsesModel(model="m", openai_client=client)


def _chat_model(client: AsyncOpenAI) -> Model:
    return OpenAIChatCompletionsModel(model="m", openai_client=client)


@pytest.mark.parametrize("make_model", [_responses_model, _chat_model], ids=["responses", "chat"])
async def test_agents_run_with_tool(
    srv: ScriptedOpenAIServer, client: AsyncOpenAI, make_model: Any
) -> None:
    calls: list[int] = []

    @function_tool
    def my_tool() -> str:
        """Count a call."""
        calls.append(1)
        return "tool says 42"

    agent = Agent(
        name="a",
        instructions="Use my_tool, then answer.",
        tools=[my_tool],
        model=make_model(client),
        model_settings=ModelSettings(include_usage=True),
    )
    srv.enqueue(Reply([ToolCall("my_tool")], usage=(10, 5)), Reply([Text("done")], usage=(20, 2)))

    result = Runner.run_streamed(agent, "go", run_config=RunConfig(tracing_disabled=True))
    async for _ in result.stream_events():
        pass

    assert calls == [1]
    assert result.final_output == "done"
    usage = result.context_wrapper.usage
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (2, 30, 7)
    # The tool's output went back to the model in the second request.
    assert "tool says 42" in json.dumps(srv.requests[1].body)
    assert srv.remaining == 0


# -- drift detection, lifecycle and helpers --------------------------------------------------


def drifted_request(srv: ScriptedOpenAIServer) -> None:
    """Script a reply the installed openai types reject, and ask for it: the client gets a 500."""
    srv.enqueue(ToolCall(name=123))  # type: ignore[arg-type]  # the client requires a string
    sync_client = openai.OpenAI(base_url=srv.base_url, api_key="t", max_retries=0)
    with sync_client, pytest.raises(openai.InternalServerError, match="does not match"):
        sync_client.responses.create(model="m", input="hi", stream=True)


def test_drift_is_reported_by_stop() -> None:
    server = ScriptedOpenAIServer().start()
    drifted_request(server)
    with pytest.raises(WireDriftError, match="name"):
        server.stop()


def test_reset_keeps_drift_until_checked(srv: ScriptedOpenAIServer) -> None:
    drifted_request(srv)
    srv.reset()  # what the next test's fixture does
    with pytest.raises(WireDriftError, match="name"):
        srv.check()
    srv.check()  # reported once


DRIFTED_MODULE = """
from tests.test_scripted_server import drifted_request

def test_drifted_reply_accepted_as_a_500(srv):
    drifted_request(srv)  # as a fault test would: a failing model is what it expects

def test_the_next_test(srv):
    assert srv.remaining == 0
"""


def test_drift_fails_the_test_that_scripted_it(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("from tests.conftest import scripted, srv  # noqa: F401")
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_drifted=DRIFTED_MODULE)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_drifted_reply_accepted_as_a_500*", "*WireDriftError*"]
    )
    result.stdout.no_fnmatch_line("*ERROR at teardown of test_the_next_test*")


def test_validators_catch_missing_and_unknown_fields() -> None:
    delta: dict[str, Any] = {
        "type": "response.output_text.delta",
        "sequence_number": 0,
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "x",
        "logprobs": [],
    }
    validate_response_event(delta)
    with pytest.raises(WireDriftError, match="logprobs"):
        validate_response_event({k: v for k, v in delta.items() if k != "logprobs"})
    with pytest.raises(WireDriftError, match="unknown field"):
        validate_response_event({**delta, "detla": "x"})
    with pytest.raises(WireDriftError, match="unknown Responses stream event"):
        validate_response_event({**delta, "type": "response.nope"})
    with pytest.raises(WireDriftError):
        validate_chat_chunk({"id": "c", "object": "chat.completion.chunk", "choices": []})


async def test_async_lifecycle_leaves_no_threads() -> None:
    before = set(threading.enumerate())
    server = ScriptedOpenAIServer([Text("x")])
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.base_url

    async with server, AsyncOpenAI(base_url=server.base_url, api_key="t", max_retries=0) as c:
        assert (await c.responses.create(model="m", input="hi")).output_text == "x"

    leaked = [t for t in set(threading.enumerate()) - before if t.name.startswith("scripted-")]
    assert leaked == []


def test_splitting_round_trips() -> None:
    for text in ["", "   ", "one", " lead and trail  ", "a\nb"]:
        assert "".join(split_words(text)) == text
    assert split_fragments("abcdefg", 3) == ("abc", "def", "g")
    assert split_fragments("{}", 5) == ("{", "}")
    with pytest.raises(ValueError, match="do not join"):
        Text("abc", chunks=["a", "b"])
