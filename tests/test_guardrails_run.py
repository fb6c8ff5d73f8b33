"""Guardrails in a run on the offline model: each kind, blocking vs parallel, buffer vs stream,
tool guardrails, and one terminal event every time."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

from agents_app.engine import Engine
from agents_app.guardrails.verdicts import Verdict
from agents_app.protocol.events import RunEvent
from agents_app.runs.execute import run_turn
from agents_app.runs.turn import Turn
from tests.conftest import assert_whole_run, offline_settings

SOLO = """
version: 1
start: a
guardrails:
{guardrails}
run_guardrails: {run}
agents:
  a:
    name: A
    instructions: Answer.
    guardrails: {agent}
"""
JOKER = """
version: 1
start: joker
guardrails:
{guardrails}
agents:
  joker:
    name: Joker
    instructions: Jokes.
    tools: [how_many_jokes]
    tool_guardrails:
      how_many_jokes: {tool}
"""


def engine_with(tmp_path: Path, template: str, pace_s: float = 0.0, **parts: str) -> Engine:
    guardrails = textwrap.indent(textwrap.dedent(parts.pop("guardrails")).strip(), "  ")
    path = tmp_path / "agents.yaml"
    path.write_text(template.format(guardrails=guardrails, **parts), encoding="utf-8")
    return Engine.from_settings(offline_settings(config_path=path, offline_pace_s=pace_s))


async def run(engine: Engine, text: str = "hello there") -> list[dict[str, Any]]:
    events: list[RunEvent] = []
    turn = Turn(conversation_id="c", text=text)
    await run_turn(turn, engine=engine, emit=events.append)
    dumped = [e.model_dump(mode="json") for e in events]
    # run_turn leaves seq to the run log; number them as it would to check the whole run.
    for seq, event in enumerate(dumped, 1):
        event["seq"] = seq
    assert_whole_run(dumped)
    return dumped


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events if e["type"] != "text.delta"]


def slow(engine: Engine, name: str, check: Any) -> None:
    """Give guardrail `name` a check written in the test (to control when it answers)."""
    object.__setattr__(engine.graph.guardrails.by_name[name], "check", check)


# -- each kind trips and passes -----------------------------------------------------------


async def test_each_rule_kind_trips_with_its_message_and_passes_otherwise(
    tmp_path: Path,
) -> None:
    kinds = {
        "regex": "{kind: regex, pattern: '\\d{4}', blocking: true, message: No numbers.}",
        "keywords": "{kind: keywords, words: [secret plan], blocking: true, message: No.}",
        "max_length": "{kind: max_length, max_chars: 12, blocking: true, message: Too long.}",
    }
    tripping = {"regex": "my pin is 1234", "keywords": "the SECRET  plan", "max_length": "x" * 13}
    for kind, spec in kinds.items():
        engine = engine_with(
            tmp_path, SOLO, guardrails=f"g: {spec}", run="{input: [g]}", agent="{}"
        )
        tripped = await run(engine, tripping[kind])
        assert types(tripped) == ["run.started", "guardrail.tripped", "run.failed"], kind
        trip, failed = tripped[1], tripped[2]
        assert trip | {"ts": 0} == {
            "type": "guardrail.tripped",
            "run_id": trip["run_id"],
            "conversation_id": "c",
            "seq": 2,
            "ts": 0,
            "guardrail": "g",
            "stage": "input",
            "agent": "a",
            "message": spec.split("message: ")[1].rstrip("}"),
        }
        assert failed["code"] == "guardrail" and failed["retryable"] is False
        assert failed["message"] == trip["message"]

        passed = await run(engine, "hi")
        assert types(passed)[-1] == "run.completed", kind


async def test_keywords_match_whole_words_in_any_case_and_script(tmp_path: Path) -> None:
    engine = engine_with(
        tmp_path,
        SOLO,
        guardrails="g: {kind: keywords, words: [class, пароль], blocking: true}",
        run="{input: [g]}",
        agent="{}",
    )
    assert types(await run(engine, "a classic joke"))[-1] == "run.completed"
    assert types(await run(engine, "Skip CLASS today"))[-1] == "run.failed"
    assert types(await run(engine, "мой ПАРОЛЬ: 1"))[-1] == "run.failed"


# -- input: blocking vs parallel, buffer vs stream ------------------------------------------


def watch_model(engine: Engine) -> dict[str, bool]:
    """Record whether the model's streamed answer started, and whether it ran to its end."""
    seen = {"started": False, "finished": False}
    model = engine.backend.provider.get_model(None)
    original = model.stream_response

    async def watched(*args: Any, **kwargs: Any) -> Any:
        seen["started"] = True
        async for event in original(*args, **kwargs):
            yield event
        seen["finished"] = True

    object.__setattr__(model, "stream_response", watched)
    return seen


async def test_a_parallel_streaming_input_check_retracts_what_was_said_before_it_tripped(
    tmp_path: Path,
) -> None:
    engine = engine_with(
        tmp_path,
        SOLO,
        pace_s=0.01,
        guardrails="late: {kind: max_length, max_chars: 1000, mode: stream}",
        run="{}",
        agent="{input: [late]}",
    )
    model = watch_model(engine)

    async def trips_once_text_streamed(text: str, *_: Any) -> Verdict:
        await asyncio.sleep(0.15)  # the answer streams meanwhile (0.01 s a word)
        return Verdict(True, "late")

    slow(engine, "late", trips_once_text_streamed)
    seen = await run(engine)
    said = types(seen)
    assert said[:2] == ["run.started", "message.started"]
    assert said[-3:] == ["guardrail.tripped", "message.retracted", "run.failed"]
    assert any(e["type"] == "text.delta" for e in seen)
    retracted = next(e for e in seen if e["type"] == "message.retracted")
    assert retracted["message_id"] == seen[1]["message_id"]
    # Cut short: the model was stopped mid-answer (the SDK alone would let it finish).
    assert "message.completed" not in said
    assert model["started"] and not model["finished"]


async def test_a_parallel_buffered_input_check_holds_the_text_so_a_trip_sends_none(
    tmp_path: Path,
) -> None:
    spec = "late: {kind: max_length, max_chars: 1000, mode: buffer}"
    engine = engine_with(
        tmp_path, SOLO, pace_s=0.01, guardrails=spec, run="{}", agent="{input: [late]}"
    )

    async def trips_later(text: str, *_: Any) -> Verdict:
        await asyncio.sleep(0.15)
        return Verdict(True, "late")

    slow(engine, "late", trips_later)
    assert types(await run(engine)) == ["run.started", "guardrail.tripped", "run.failed"]

    async def passes_later(text: str, *_: Any) -> Verdict:
        await asyncio.sleep(0.15)
        return Verdict(False)

    slow(engine, "late", passes_later)
    passed = await run(engine)
    assert types(passed) == ["run.started", "message.started", "message.completed", "run.completed"]


async def test_a_blocking_input_check_runs_before_the_model(tmp_path: Path) -> None:
    engine = engine_with(
        tmp_path,
        SOLO,
        guardrails="first: {kind: max_length, max_chars: 1000, blocking: true, mode: stream}",
        run="{input: [first]}",
        agent="{}",
    )
    model = watch_model(engine)

    async def trips(text: str, *_: Any) -> Verdict:
        await asyncio.sleep(0.1)
        return Verdict(True, "no")

    slow(engine, "first", trips)
    assert types(await run(engine)) == ["run.started", "guardrail.tripped", "run.failed"]
    assert not model["started"]  # the model never started


# -- output: buffer vs stream ----------------------------------------------------------------


async def test_a_buffered_output_check_withholds_the_answer_it_trips_on(tmp_path: Path) -> None:
    engine = engine_with(
        tmp_path,
        SOLO,
        guardrails="no_demo: {kind: keywords, words: [offline], message: Withheld.}",
        run="{output: [no_demo]}",
        agent="{}",
    )
    events = await run(engine)
    assert types(events) == ["run.started", "guardrail.tripped", "run.failed"]
    assert events[1]["stage"] == "output" and events[1]["message"] == "Withheld."


async def test_a_streamed_output_check_retracts_the_answer_it_trips_on(tmp_path: Path) -> None:
    engine = engine_with(
        tmp_path,
        SOLO,
        guardrails="no_demo: {kind: regex, pattern: offline, mode: stream}",
        run="{}",
        agent="{output: [no_demo]}",
    )
    events = await run(engine)
    assert types(events) == [
        "run.started",
        "message.started",
        "message.completed",
        "guardrail.tripped",
        "message.retracted",
        "run.failed",
    ]
    assert events[-2]["message_id"] == events[1]["message_id"]
    assert events[-3]["message"] == "The answer was withheld by the 'no_demo' check."


async def test_a_buffered_answer_that_passes_arrives_whole_before_the_end(tmp_path: Path) -> None:
    engine = engine_with(
        tmp_path,
        SOLO,
        guardrails="fine: {kind: keywords, words: [zebra]}",
        run="{output: [fine]}",
        agent="{}",
    )
    events = await run(engine)
    assert types(events) == ["run.started", "message.started", "message.completed", "run.completed"]
    text = "".join(e["delta"] for e in events if e["type"] == "text.delta")
    assert text == events[-1]["final_output"] and "offline" in text


async def test_the_conversation_goes_on_after_an_output_trip(tmp_path: Path) -> None:
    engine = engine_with(
        tmp_path,
        SOLO,
        guardrails="g: {kind: keywords, words: [forbidden], mode: stream}",
        run="{input: [g], output: [g]}",
        agent="{}",
    )
    session = engine.store.session("c")
    for text, ends in (("say forbidden", "run.failed"), ("hello", "run.completed")):
        events: list[RunEvent] = []
        await run_turn(
            Turn(conversation_id="c", text=text), engine=engine, emit=events.append, session=session
        )
        assert events[-1].type == ends  # type: ignore[attr-defined]


# -- tool guardrails -----------------------------------------------------------------------


async def test_a_tool_input_guardrail_that_rejects_lets_the_run_go_on(tmp_path: Path) -> None:
    engine = engine_with(
        tmp_path,
        JOKER,
        guardrails="""
        no_calls:
          kind: max_length
          max_chars: 1
          on_trip: reject
          message: Counting jokes is switched off.
        """,
        tool="{input: [no_calls]}",
    )
    events = await run(engine, "tell me a joke")
    assert types(events)[:4] == [
        "run.started",
        "tool.call.started",
        "guardrail.tripped",
        "tool.call.completed",
    ]
    trip, done = events[2], events[3]
    assert (trip["stage"], trip["agent"], trip["guardrail"]) == ("tool_input", "joker", "no_calls")
    assert done["error"] == "Counting jokes is switched off."
    assert done["output"] == "Error: Counting jokes is switched off."
    assert types(events)[-1] == "run.completed"


async def test_a_tool_output_guardrail_that_stops_ends_the_run(tmp_path: Path) -> None:
    engine = engine_with(
        tmp_path,
        JOKER,
        guardrails="digits: {kind: regex, pattern: '\\d'}",
        tool="{output: [digits]}",
    )
    events = await run(engine, "tell me a joke")
    assert types(events) == ["run.started", "tool.call.started", "guardrail.tripped", "run.failed"]
    assert events[2]["stage"] == "tool_output" and events[2]["agent"] == "joker"
    assert (
        events[2]["message"] == "The result of how_many_jokes was withheld by the 'digits' check."
    )
    assert events[3]["code"] == "guardrail"
