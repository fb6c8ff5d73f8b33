"""The offline model through the real openai-agents Runner, plus its planner's edge cases."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from agents import (
    Agent,
    FunctionTool,
    ModelSettings,
    ModelTracing,
    RunConfig,
    Runner,
    function_tool,
    handoff,
)
from agents.items import TResponseInputItem, TResponseStreamEvent
from agents.stream_events import RawResponsesStreamEvent, RunItemStreamEvent
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
)
from pydantic import TypeAdapter

from agents_app.models.offline import OfflineModel, OfflineModelProvider
from agents_app.models.offline_plan import ToolCallPlan, plan_response, read_turn

EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
LATIN = re.compile(r"[a-zA-Z]")


@function_tool
def how_many_jokes() -> int:
    """Decide how many jokes to tell."""
    return 3


@function_tool
def web_search(query: str) -> str:
    """Search the web."""
    return f"Results for {query}: Paris is the capital of France, see https://example.org/paris."


@function_tool
def fetch_url(url: str) -> str:
    """Fetch a page."""
    return f"Page {url}: Paris has been the capital since 987."


def build_graph(*, researcher_tools: list[FunctionTool] | None = None) -> Agent[Any]:
    joker = Agent(
        name="Joker",
        instructions="Call how_many_jokes, then tell that many jokes.",
        handoff_description="Tells jokes on any topic; шутки и анекдоты",
        tools=[how_many_jokes],
    )
    researcher = Agent(
        name="Researcher",
        instructions="Answer factual questions with sources.",
        handoff_description="Answers factual questions; отвечает на вопросы",
        tools=list(researcher_tools or []),
    )
    # Not in the built-in graph: stands for an agent a prompt author adds in YAML.
    poet = Agent(
        name="poet", instructions="Write poems.", handoff_description="writes poems, verses; стихи"
    )
    triage = Agent(
        name="Triage", instructions="Route the request.", handoffs=[joker, researcher, poet]
    )
    joker.handoffs = [triage]  # a way back must not make the model bounce between agents
    return triage


def run_config(pace_s: float = 0.0) -> RunConfig:
    return RunConfig(model_provider=OfflineModelProvider(pace_s=pace_s), tracing_disabled=True)


@dataclass
class Run:
    agent: str
    output: str
    raw: list[TResponseStreamEvent] = field(default_factory=list)
    tools_called: list[str] = field(default_factory=list)
    usage_total: int = 0


async def run_streamed(text: str, agent: Agent[Any] | None = None) -> Run:
    result = Runner.run_streamed(agent or build_graph(), text, run_config=run_config())
    run = Run(agent="", output="")
    async for event in result.stream_events():
        if isinstance(event, RawResponsesStreamEvent):
            run.raw.append(event.data)
        elif isinstance(event, RunItemStreamEvent) and event.name == "tool_called":
            raw_item = event.item.raw_item
            run.tools_called.append(str(getattr(raw_item, "name", "")))
    run.agent = result.last_agent.name
    run.output = str(result.final_output)
    run.usage_total = result.context_wrapper.usage.total_tokens
    return run


def numbered_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if re.match(r"\d+\. ", line)]


async def test_english_joke_goes_to_joker_who_asks_how_many() -> None:
    run = await run_streamed("Tell me a joke about programming")
    assert run.agent == "Joker"
    assert run.tools_called == ["how_many_jokes"]
    jokes = numbered_lines(run.output)
    assert len(jokes) == 3
    assert all("programming" in joke for joke in jokes)
    assert not CYRILLIC.search(run.output)


async def test_russian_joke_is_told_in_russian() -> None:
    run = await run_streamed("Расскажи анекдот про котов")
    assert run.agent == "Joker"
    assert run.tools_called == ["how_many_jokes"]
    jokes = numbered_lines(run.output)
    assert len(jokes) == 3
    assert all("котов" in joke for joke in jokes)
    assert len(CYRILLIC.findall(run.output)) > len(LATIN.findall(run.output))


@pytest.mark.parametrize(
    ("text", "agent"),
    [
        ("What is the capital of France?", "Researcher"),
        ("Кто такой Пушкин?", "Researcher"),
        ("write a poem about the sea", "poet"),
        ("Напиши стихи о море", "poet"),
    ],
)
async def test_routing_by_description(text: str, agent: str) -> None:
    run = await run_streamed(text)
    assert run.agent == agent
    assert "offline demo model" in run.output or "офлайн-демомодель" in run.output


async def test_researcher_without_tools_is_honest_in_the_question_language() -> None:
    english = await run_streamed("What is the capital of France?")
    assert "no real knowledge" in english.output
    assert "What is the capital of France?" in english.output
    assert "API_KEY" in english.output and "FOLDER_ID" in english.output
    russian = await run_streamed("Кто такой Пушкин?")
    assert "Пушкин" in russian.output and "API_KEY" in russian.output
    assert len(CYRILLIC.findall(russian.output)) > len(LATIN.findall(russian.output))


async def test_unmatched_message_is_answered_by_triage_listing_specialists() -> None:
    run = await run_streamed("hello")
    assert run.agent == "Triage"
    assert run.tools_called == []
    for name, does in [("Joker", "Tells jokes"), ("Researcher", "Answers"), ("poet", "poems")]:
        assert name in run.output and does in run.output
    assert "offline demo model" in run.output
    assert "Tell me a joke about cats" in run.output


async def test_tool_outputs_are_quoted_and_urls_come_from_earlier_results() -> None:
    graph = build_graph(researcher_tools=[web_search, fetch_url])
    run = await run_streamed("What is the capital of France?", graph)
    assert run.agent == "Researcher"
    assert run.tools_called == ["web_search", "fetch_url"]
    assert run.output.startswith("Here is what I found")
    assert "Paris is the capital of France" in run.output
    assert "Page https://example.org/paris" in run.output
    assert run.output.endswith("Sources: https://example.org/paris")  # the URL it read


@function_tool
def broken_search(query: str) -> str:
    """Search the web (the web is down)."""
    raise RuntimeError("network unreachable")


@function_tool
def broken_fetch(url: str) -> str:
    """Fetch a page (it always fails)."""
    raise RuntimeError("page refused")


async def test_failing_tools_are_reported_politely_and_stop_the_chain() -> None:
    graph = build_graph(researcher_tools=[broken_search, fetch_url])
    english = await run_streamed("What is the capital of France?", graph)
    assert english.agent == "Researcher"
    assert english.tools_called == ["broken_search"]  # nothing to fetch after a failed search
    assert english.output.startswith("I am sorry, I cannot look this up right now")
    assert "broken_search" in english.output and "try again" in english.output
    russian = await run_streamed("Кто такой Пушкин?", build_graph(researcher_tools=[broken_search]))
    assert russian.output.startswith("Извините, сейчас не получается это выяснить")


async def test_a_failed_fetch_still_quotes_the_search_and_cites_nothing() -> None:
    graph = build_graph(researcher_tools=[web_search, broken_fetch])
    run = await run_streamed("What is the capital of France?", graph)
    assert run.tools_called == ["web_search", "broken_fetch"]
    assert "Paris is the capital of France" in run.output
    assert "I could not use broken_fetch: An error occurred while running the tool" in run.output
    assert "Sources:" not in run.output


async def test_every_raw_event_is_a_valid_responses_event() -> None:
    run = await run_streamed("Tell me a joke about programming")
    assert run.raw
    for event in run.raw:
        EVENT_ADAPTER.validate_python(event.model_dump())
    # sequence_number restarts per response and must be gap-free within one.
    sequences: list[list[int]] = []
    for event in run.raw:
        if event.type == "response.created":
            sequences.append([])
        sequences[-1].append(event.sequence_number)
    assert len(sequences) == 3  # handoff call, how_many_jokes call, the jokes
    assert all(seq == list(range(len(seq))) for seq in sequences)
    completed = [e for e in run.raw if isinstance(e, ResponseCompletedEvent)]
    for event in completed:
        Response.model_validate(event.response.model_dump())
        assert event.response.status == "completed"
        assert event.response.model == "offline"
        assert len(event.response.output) == 1
        assert event.response.usage is not None and event.response.usage.total_tokens > 0
    handoff_call, tool_call, message = (e.response.output[0] for e in completed)
    assert isinstance(handoff_call, ResponseFunctionToolCall)
    assert (handoff_call.name, handoff_call.arguments) == ("transfer_to_joker", "{}")
    assert isinstance(tool_call, ResponseFunctionToolCall)
    assert tool_call.name == "how_many_jokes" and tool_call.status == "completed"
    assert isinstance(message, ResponseOutputMessage) and message.status == "completed"


async def test_text_deltas_are_word_sized_and_add_up() -> None:
    run = await run_streamed("Tell me a joke about programming")
    deltas = [e.delta for e in run.raw if isinstance(e, ResponseTextDeltaEvent)]
    assert len(deltas) > 10
    assert all(delta.strip() for delta in deltas)
    assert all(len(delta.split()) == 1 for delta in deltas)
    assert "".join(deltas) == run.output


async def test_usage_is_counted() -> None:
    run = await run_streamed("Tell me a joke about programming")
    assert run.usage_total > 0


async def test_ids_are_unique_per_response() -> None:
    run = await run_streamed("Tell me a joke about programming")
    completed = [e for e in run.raw if isinstance(e, ResponseCompletedEvent)]
    response_ids = {e.response.id for e in completed}
    item_ids = {e.response.output[0].id for e in completed}
    assert len(response_ids) == len(item_ids) == len(completed)
    calls = [e.response.output[0] for e in completed]
    call_ids = {c.call_id for c in calls if isinstance(c, ResponseFunctionToolCall)}
    assert len(call_ids) == 2 and all(c.startswith("call_") for c in call_ids)


async def test_non_streamed_run_uses_get_response() -> None:
    result = await Runner.run(build_graph(), "Tell me a joke about cats", run_config=run_config())
    assert result.last_agent.name == "Joker"
    jokes = numbered_lines(str(result.final_output))
    assert len(jokes) == 3 and all("cats" in joke for joke in jokes)
    assert result.context_wrapper.usage.requests == 3
    assert result.context_wrapper.usage.total_tokens > 0


async def test_streamed_and_non_streamed_answers_agree() -> None:
    streamed = await run_streamed("Tell me a joke about cats")
    plain = await Runner.run(build_graph(), "Tell me a joke about cats", run_config=run_config())
    assert streamed.output == plain.final_output


async def stream_events(model: OfflineModel, text: str) -> list[TResponseStreamEvent]:
    stream = model.stream_response(
        None,
        text,
        ModelSettings(),
        [],
        None,
        [],
        ModelTracing.DISABLED,
        previous_response_id=None,
        conversation_id=None,
        prompt=None,
    )
    return [event async for event in stream]


async def test_pace_sleeps_between_deltas() -> None:
    pace = 0.02
    started = time.monotonic()
    events = await stream_events(OfflineModel(pace_s=pace), "What is the capital of France?")
    elapsed = time.monotonic() - started
    deltas = [e for e in events if isinstance(e, ResponseTextDeltaEvent)]
    assert len(deltas) > 5
    # asyncio timers may fire up to one clock tick early, hence the small allowance.
    assert elapsed >= 0.9 * pace * (len(deltas) - 1)


def test_ties_go_to_the_first_handoff_and_template_words_do_not_count() -> None:
    first = Agent(name="alpha", handoff_description="knows cats")
    second = Agent(name="beta", handoff_description="knows cats too")
    handoffs = [handoff(first), handoff(second)]
    plan, _ = plan_response(None, "cats please", [], handoffs)
    assert plan == ToolCallPlan("transfer_to_alpha", "{}")
    # Every SDK handoff description says "Handoff to the X agent to handle the request."
    plan, _ = plan_response(None, "Please handle this request, agent", [], handoffs)
    assert not isinstance(plan, ToolCallPlan)


def test_no_second_routing_after_a_handoff_in_the_same_turn() -> None:
    items: list[TResponseInputItem] = [
        {"role": "user", "content": [{"type": "input_text", "text": "a joke about dogs"}]},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "transfer_to_joker",
            "arguments": "{}",
        },
        {"type": "function_call_output", "call_id": "call_1", "output": '{"assistant": "Joker"}'},
    ]
    turn = read_turn(None, items)
    assert turn.handed_off and turn.message == "a joke about dogs"
    jokers = [handoff(Agent(name="joker", handoff_description="tells jokes"))]
    plan, _ = plan_response(None, items, [], jokers)
    assert not isinstance(plan, ToolCallPlan)


def test_tool_arguments_follow_the_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "topic": {"type": "string"},
            "query": {"type": "string"},
            "count": {"type": "integer", "minimum": 2, "maximum": 5},
            "limit": {"type": "integer", "default": 7},
            "depth": {"type": "integer"},
            "strict": {"type": "boolean"},
            "lang": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "optional": {"type": "string"},
        },
        "required": ["topic", "query", "count", "limit", "depth", "strict", "lang"],
        "additionalProperties": False,
    }

    async def invoke(_ctx: Any, _args: str) -> str:
        return "ok"

    tool = FunctionTool(
        name="probe",
        description="probe",
        params_json_schema=schema,
        on_invoke_tool=invoke,
        strict_json_schema=False,  # strict mode would make "optional" required
    )
    plan, _ = plan_response(None, "Tell me a joke about birds", [tool], [])
    assert isinstance(plan, ToolCallPlan) and plan.name == "probe"
    assert json.loads(plan.arguments) == {
        "topic": "birds",
        "query": "Tell me a joke about birds",
        "count": 2,
        "limit": 7,
        "depth": 3,
        "strict": False,
        "lang": None,
    }


def test_string_arguments_respect_max_length() -> None:
    schema = {
        "type": "object",
        "properties": {"query": {"type": "string", "maxLength": 10}},
        "required": ["query"],
    }

    async def invoke(_ctx: Any, _args: str) -> str:
        return "ok"

    tool = FunctionTool(
        name="probe", description="probe", params_json_schema=schema, on_invoke_tool=invoke
    )
    plan, _ = plan_response(None, "a rather long question about birds", [tool], [])
    assert isinstance(plan, ToolCallPlan)
    assert json.loads(plan.arguments) == {"query": "a rather l"}


def test_tool_choice_none_answers_with_text() -> None:
    plan, _ = plan_response(None, "Tell me a joke", [how_many_jokes], [], allow_calls=False)
    assert not isinstance(plan, ToolCallPlan)


def test_provider_ignores_model_names() -> None:
    provider = OfflineModelProvider()
    assert provider.get_model("yandexgpt/latest") is provider.get_model(None)
