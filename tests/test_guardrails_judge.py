"""`kind: agent` guardrails against the scripted OpenAI-compatible server: the judge's request
is a real structured-output request, its verdict decides, and a judge that fails fails closed."""

from __future__ import annotations

import json
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from agents_app.engine import Engine
from agents_app.protocol.events import RunEvent
from agents_app.runs.execute import run_turn
from agents_app.runs.turn import Turn
from agents_app.settings import Settings
from agents_app.testing import Fail, Malformed, Reply, ScriptedOpenAIServer, Stall, Text, ToolCall
from tests.conftest import JOKES_SEED

CONFIG = """
version: 1
start: a
defaults: {{model: main-model}}
guardrails:
  topic:
    kind: agent
    instructions: Allow only questions about cats.
    model: judge-model
    blocking: true
    timeout_s: {timeout}
    message: I only talk about cats.
  arguments:
    kind: agent
    instructions: Refuse calls that ask for many jokes.
    timeout_s: {timeout}
    on_trip: {tool_trip}
agents:
  a:
    name: A
    instructions: Answer.
    guardrails: {{input: [topic]}}
    tools: [how_many_jokes]
    tool_guardrails: {{how_many_jokes: {{input: [arguments]}}}}
"""


def engine_for(
    srv: ScriptedOpenAIServer,
    *,
    api: str = "responses",
    timeout: float = 5,
    tool_trip: str = "stop",
) -> Engine:
    folder = Path(tempfile.mkdtemp(prefix="agents-app-judge-"))
    path = folder / "agents.yaml"
    path.write_text(
        textwrap.dedent(CONFIG.format(timeout=timeout, tool_trip=tool_trip)), encoding="utf-8"
    )
    settings = Settings(
        provider="openai",
        api="chat_completions" if api == "chat_completions" else "responses",
        api_key="sk-test-0123456789",
        base_url=srv.base_url,
        jokes_seed=JOKES_SEED,
        model_max_retries=0,
        model_timeout_s=5.0,
        data_dir=folder,
        config_path=path,
    )
    return Engine.from_settings(settings)


def verdict(allowed: bool, reason: str = "because") -> Text:
    return Text(json.dumps({"allowed": allowed, "reason": reason}))


async def run(engine: Engine, text: str = "Why do cats purr?") -> list[RunEvent]:
    events: list[RunEvent] = []
    await run_turn(Turn(conversation_id="c", text=text), engine=engine, emit=events.append)
    assert sum(e.type in ("run.completed", "run.failed") for e in events) == 1  # type: ignore[attr-defined]
    return events


def types(events: list[RunEvent]) -> list[str]:
    return [e.type for e in events if e.type != "text.delta"]  # type: ignore[attr-defined]


def dump(event: RunEvent) -> dict[str, Any]:
    return event.model_dump(mode="json")


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_the_judge_asks_for_a_structured_verdict_and_its_no_stops_the_model(
    srv: ScriptedOpenAIServer, api: str
) -> None:
    srv.enqueue(Reply([verdict(False, "judge-reasoning-xyz")]))
    events = await run(engine_for(srv, api=api), "Tell me about dogs")
    assert types(events) == ["run.started", "guardrail.tripped", "run.failed"]
    assert dump(events[1])["guardrail"] == "topic" and dump(events[1])["stage"] == "input"
    failed = dump(events[2])
    assert (failed["code"], failed["retryable"]) == ("guardrail", False)
    assert failed["message"] == "I only talk about cats."
    assert "judge-reasoning-xyz" not in json.dumps(
        [dump(e) for e in events]
    )  # the reason stays in the log

    (judge,) = srv.requests  # blocking: the agent's model was never asked
    body = judge.body
    assert body["model"] == "judge-model"
    if api == "responses":
        fmt = body["text"]["format"]
        assert (fmt["type"], fmt["strict"]) == ("json_schema", True)
        schema = fmt["schema"]
    else:
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
        schema = fmt["json_schema"]["schema"]
    assert set(schema["properties"]) == {"allowed", "reason"}
    assert schema["properties"]["allowed"]["type"] == "boolean"
    assert "Tell me about dogs" in json.dumps(body)
    assert "Allow only questions about cats." in json.dumps(body)


async def test_a_judge_that_allows_lets_the_run_go_on_and_its_tokens_count(
    srv: ScriptedOpenAIServer,
) -> None:
    srv.enqueue(
        Reply([verdict(True)], usage=(7, 3)), Reply([Text("They are happy.")], usage=(10, 5))
    )
    events = await run(engine_for(srv))
    assert types(events) == ["run.started", "message.started", "message.completed", "run.completed"]
    usage = dump(events[-1])["usage"]
    assert usage == {"requests": 2, "input_tokens": 17, "output_tokens": 8, "total_tokens": 25}
    assert [r.body["model"] for r in srv.requests] == ["judge-model", "main-model"]


@pytest.mark.parametrize(
    "step",
    [
        Fail(500),
        Malformed("not json at all"),
        Reply([Text("I think it is fine")]),  # not a verdict
    ],
    ids=["http-500", "malformed", "no-verdict"],
)
async def test_a_judge_that_fails_fails_closed_with_a_retryable_guardrail_error(
    srv: ScriptedOpenAIServer, step: Any
) -> None:
    srv.enqueue(step)
    events = await run(engine_for(srv))
    assert types(events) == ["run.started", "run.failed"]  # no trip: nothing was judged
    failed = dump(events[-1])
    assert (failed["code"], failed["retryable"]) == ("guardrail", True)
    assert failed["message"].startswith("The 'topic' safety check could not run")
    assert len(srv.requests) == 1


async def test_a_judge_that_runs_out_of_time_fails_closed(srv: ScriptedOpenAIServer) -> None:
    srv.enqueue(Stall(3))
    started = time.monotonic()
    events = await run(engine_for(srv, timeout=0.3))
    assert time.monotonic() - started < 2
    failed = dump(events[-1])
    assert (failed["type"], failed["code"], failed["retryable"]) == (
        "run.failed",
        "guardrail",
        True,
    )


async def test_a_judge_on_a_tool_call_rejects_the_call_and_the_run_goes_on(
    srv: ScriptedOpenAIServer,
) -> None:
    srv.enqueue(
        Reply([verdict(True)]),  # the input check
        Reply([ToolCall("how_many_jokes", "{}")]),
        Reply([verdict(False, "too many")]),  # the call's arguments
        Reply([Text("No jokes then.")]),
    )
    events = await run(engine_for(srv, tool_trip="reject"))
    assert types(events) == [
        "run.started",
        "tool.call.started",
        "guardrail.tripped",
        "tool.call.completed",
        "message.started",
        "message.completed",
        "run.completed",
    ]
    assert dump(events[2])["stage"] == "tool_input"
    assert (
        dump(events[3])["error"]
        == "The call to how_many_jokes was stopped by the 'arguments' check."
    )
    assert srv.remaining == 0


async def test_a_judge_on_a_tool_call_that_fails_fails_the_run_closed(
    srv: ScriptedOpenAIServer,
) -> None:
    srv.enqueue(Reply([verdict(True)]), Reply([ToolCall("how_many_jokes", "{}")]), Fail(500))
    events = await run(engine_for(srv))
    assert types(events) == ["run.started", "tool.call.started", "run.failed"]
    failed = dump(events[-1])
    assert (failed["code"], failed["retryable"]) == ("guardrail", True)
    assert "'arguments'" in failed["message"]


async def test_the_judge_reads_the_new_message_not_the_whole_conversation(
    srv: ScriptedOpenAIServer,
) -> None:
    srv.enqueue(
        Reply([verdict(True)]),
        Reply([Text("Purring.")]),
        Reply([verdict(True)]),
        Reply([Text("Sleeping.")]),
    )
    engine = engine_for(srv)
    session = engine.store.session("c")
    for text in ("Why do cats purr?", "And why do they nap?"):
        events: list[RunEvent] = []
        turn = Turn(conversation_id="c", text=text)
        await run_turn(turn, engine=engine, emit=events.append, session=session)
        assert types(events)[-1] == "run.completed"
    second_judge = json.dumps(srv.requests[2].body)
    assert "And why do they nap?" in second_judge
    assert "Why do cats purr?" not in second_judge and "Purring." not in second_judge
    assert "Why do cats purr?" in json.dumps(srv.requests[3].body)  # the agent has history


def test_the_offline_judge_refuses_by_its_prompt_bullets() -> None:
    from agents_app.models.offline_judge import verdict as offline_verdict

    prompt = "Refuse these:\n- writing scripts or SQL\n- взлом, пароль\nAllow the rest, - not this."
    for message, allowed in [
        ("Write a script for me", False),
        ("Some sql please", False),
        ("Tell me a joke about writers", True),
        ("Расскажи про взлом", False),
        ("Tell me a joke about cats", True),
        ("not this", True),  # only bullet lines count
    ]:
        assert json.loads(offline_verdict(prompt, message))["allowed"] is allowed, message
