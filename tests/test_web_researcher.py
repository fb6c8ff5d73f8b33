"""The researcher end to end over the WebSocket, with the web tools pointed at a fake web."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from agents import Agent, Runner, function_tool

from agents_app.engine import Engine, TurnContext
from agents_app.models.offline import OfflineModelProvider
from tests.conftest import is_terminal, live_server, offline_settings, recv_json, recv_until
from tests.web_fakes import FakeWeb, fake_web_settings, runtime_for, serve
from tools.errors import ToolFailure
from tools.web import client as web_client

QUESTION = "What is the capital of France?"
OUTPUT_LIMIT = 300


@pytest.fixture
async def web() -> AsyncIterator[FakeWeb]:
    async with serve(FakeWeb()) as fake:
        runtime, dialler = runtime_for(fake_web_settings(fake.port))
        previous = web_client.configure(runtime)
        yield fake
        web_client.configure(previous)
        await runtime.aclose()
        assert dialler.refused == []


async def run_over_websocket(text: str, **settings: Any) -> list[dict[str, Any]]:
    engine = Engine.from_settings(offline_settings(tool_output_limit=OUTPUT_LIMIT, **settings))
    async with live_server(engine) as live, live.connect() as ws:
        assert (await recv_json(ws))["type"] == "session.ready"
        await ws.send(text)
        events = await recv_until(ws, is_terminal, wait_s=20)
    run = [e for e in events if "run_id" in e]
    assert [e["seq"] for e in run] == list(range(1, len(run) + 1))
    return run


def calls(events: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    started = [e for e in events if e["type"] == "tool.call.started"]
    done = {e["call_id"]: e for e in events if e["type"] == "tool.call.completed"}
    return [(s, done[s["call_id"]]) for s in started]


async def test_researcher_searches_reads_the_top_hit_and_cites_it(web: FakeWeb) -> None:
    events = await run_over_websocket(QUESTION)
    kinds = [e["type"] for e in events if e["type"] != "text.delta"]
    assert kinds == [
        "run.started",
        "agent.switched",
        "tool.call.started",
        "tool.call.completed",
        "tool.call.started",
        "tool.call.completed",
        "message.started",
        "message.completed",
        "run.completed",
    ]
    (search, found), (fetch, page) = calls(events)
    assert (search["agent"], search["tool"]) == ("researcher", "web_search")
    assert search["arguments"] == {"query": QUESTION, "limit": 5}
    assert found["error"] is None
    assert found["truncated"] is True and len(found["output"]) == OUTPUT_LIMIT  # capped event
    assert found["output"].startswith(f'Search results for "{QUESTION}" (wikipedia, language: en)')
    paris = f"http://127.0.0.1:{web.port}/en/wiki/Paris"
    assert f"1. Paris\n   {paris}" in found["output"]

    assert fetch["tool"] == "fetch_url"
    assert fetch["arguments"] == {"url": paris, "max_chars": 6000}
    assert page["error"] is None
    assert page["truncated"] is True and len(page["output"]) == OUTPUT_LIMIT  # capped event
    assert page["output"].startswith(f"Title: Paris – Wiki\nURL: {paris}\n")
    assert page["duration_ms"] >= 0

    answer = events[-1]
    assert answer["type"] == "run.completed" and answer["agent"] == "researcher"
    assert "Paris is the capital and largest city of France" in answer["final_output"]
    assert answer["final_output"].endswith(f"Sources: {paris}")
    assert web.seen("/en/w/api.php") == 1 and web.seen("/en/wiki/Paris") == 1


async def test_russian_question_searches_the_russian_wikipedia(web: FakeWeb) -> None:
    events = await run_over_websocket("Что такое Москва?")
    (_, found), (fetch, page) = calls(events)
    assert "(wikipedia, language: ru)" in found["output"]
    assert fetch["arguments"]["url"].startswith(f"http://127.0.0.1:{web.port}/ru/wiki/")
    assert page["error"] is None
    final = events[-1]["final_output"]
    assert final.startswith("Вот что удалось найти") and "Источники: http://127.0.0.1" in final


async def test_unreachable_web_is_reported_politely_and_the_run_completes() -> None:
    # The default test runtime: no name resolves, as on a machine without internet.
    events = await run_over_websocket(QUESTION)
    [(search, failed)] = calls(events)
    assert search["tool"] == "web_search"
    assert failed["error"] == "could not resolve en.wikipedia.org (no DNS in tests)"
    assert failed["output"] == "Error: could not resolve en.wikipedia.org (no DNS in tests)"
    final = events[-1]
    assert final["type"] == "run.completed"
    assert final["final_output"].startswith("I am sorry, I cannot look this up right now")
    assert "could not resolve en.wikipedia.org" in final["final_output"]


async def test_a_refused_page_is_an_error_event_and_the_answer_says_so(web: FakeWeb) -> None:
    events = await run_over_websocket("Explain what is at http://169.254.169.254/latest/meta-data")
    (_, found), (fetch, refused) = calls(events)
    assert found["error"] is None
    assert fetch["arguments"]["url"] == "http://169.254.169.254/latest/meta-data"
    assert refused["error"].startswith("refused to connect to 169.254.169.254: a link-local")
    assert refused["output"] == "Error: " + refused["error"]
    final = events[-1]["final_output"]
    assert events[-1]["type"] == "run.completed"
    assert "I could not use fetch_url: refused to connect to 169.254.169.254" in final
    assert "Sources:" not in final  # nothing was read, so nothing is cited


@function_tool
def failing_tool(topic: str) -> str:
    """Fails in a way the model should read."""
    raise ToolFailure(f"the archive about {topic} is closed today")


@function_tool
def crashing_tool(topic: str) -> str:
    """Fails with an internal error."""
    raise RuntimeError("password=hunter2 in a stack trace")


@pytest.mark.parametrize(
    ("tool", "model_reads", "event_error"),
    [
        (
            failing_tool,
            "Error: the archive about cats is closed today",
            "the archive about cats is closed today",
        ),
        (
            crashing_tool,
            "An error occurred while running the tool. Please try again.",
            "The tool failed (RuntimeError).",  # the text is for the server's log only
        ),
    ],
)
async def test_tool_failures_reach_the_model_and_the_event(
    tool: Any, model_reads: str, event_error: str
) -> None:
    engine = Engine.from_settings(offline_settings())
    agent = Agent(name="probe", instructions="Use the tool.", tools=[tool])
    context = TurnContext()
    config = engine.run_config()
    config.model_provider = OfflineModelProvider()
    result = await Runner.run(agent, "Tell me about cats", context=context, run_config=config)
    outputs = [i.output for i in result.new_items if i.type == "tool_call_output_item"]
    assert outputs == [model_reads]
    assert list(context.tool_errors.values()) == [event_error]
    # Only a ToolFailure's own text reaches the model; other errors stay generic for it.
    assert "hunter2" not in str(result.final_output)
