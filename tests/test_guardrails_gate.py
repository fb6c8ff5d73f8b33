"""The gate alone: which text waits, which goes out, which is taken back (no SDK)."""

from __future__ import annotations

from agents_app.guardrails.gate import Gate
from agents_app.protocol.events import (
    AgentSwitched,
    MessageCompleted,
    MessageStarted,
    RunEvent,
    RunIds,
    TextDelta,
    ToolCallStarted,
)

IDS = RunIds(run_id="r", conversation_id="c")


def message(message_id: str, agent: str = "a", text: str = "hi there") -> list[RunEvent]:
    return [
        MessageStarted(**IDS, message_id=message_id, agent=agent),
        TextDelta(**IDS, message_id=message_id, agent=agent, delta=text),
        MessageCompleted(**IDS, message_id=message_id, agent=agent, text=text),
    ]


def call() -> RunEvent:
    return ToolCallStarted(**IDS, call_id="c1", agent="a", tool="t", arguments={})


def kinds(events: list[RunEvent]) -> list[str]:
    return [f"{e.type}:{getattr(e, 'message_id', '')}".rstrip(":") for e in events]


def test_a_buffered_answer_waits_for_the_end_and_a_trip_means_it_was_never_sent() -> None:
    gate = Gate(IDS, hold_input=False, buffers_output=lambda agent: agent == "a")
    assert gate.passing(message("m1")) == []
    assert gate.withdraw("output") == []  # dropped: clients never saw it

    gate = Gate(IDS, hold_input=False, buffers_output=lambda agent: agent == "a")
    held = message("m1")
    assert gate.passing(held) == []
    assert gate.finish() == held


def test_text_before_a_tool_call_is_not_the_answer_and_goes_out_then() -> None:
    gate = Gate(IDS, hold_input=False, buffers_output=lambda _: True)
    first, then = message("m1"), call()
    assert gate.passing(first) == []
    assert gate.passing([then]) == [*first, then]
    assert gate.withdraw("output") == []  # m1 was not the answer the output check refused


def test_unbuffered_agents_stream_and_only_the_final_answer_is_retracted() -> None:
    gate = Gate(IDS, hold_input=False, buffers_output=lambda agent: agent == "b")
    before, then = message("m1"), call()
    assert gate.passing([*before, then]) == [*before, then]
    final = message("m2")
    assert gate.passing(final) == final
    assert kinds(gate.withdraw("output")) == ["message.retracted:m2"]


def test_an_input_trip_retracts_everything_said_and_a_tool_trip_nothing() -> None:
    gate = Gate(IDS, hold_input=False, buffers_output=lambda _: False)
    gate.passing([*message("m1"), call(), *message("m2")])
    assert kinds(gate.withdraw("input")) == ["message.retracted:m1", "message.retracted:m2"]

    gate = Gate(IDS, hold_input=False, buffers_output=lambda _: False)
    gate.passing([*message("m1"), call()])
    assert gate.withdraw("tool_input") == []


def test_held_input_waits_for_the_checks_then_goes_through_output_holding() -> None:
    switch = AgentSwitched(**IDS, from_agent="a", to_agent="b")
    gate = Gate(IDS, hold_input=True, buffers_output=lambda agent: agent == "b")
    said = [*message("m1"), switch, *message("m2", agent="b")]
    assert gate.passing(said) == []
    # m1 and the switch go out; b's answer still waits for b's output checks.
    assert gate.inputs_passed() == said[:4]
    assert gate.finish() == said[4:]

    gate = Gate(IDS, hold_input=True, buffers_output=lambda _: False)
    assert gate.passing(message("m1")) == []
    assert gate.withdraw("input") == []  # never sent, nothing to take back
    assert gate.finish() == []
