"""Text that arrives in a burst leaves the translator as one delta; paced text as it comes."""

from __future__ import annotations

from typing import Any

import pytest

from agents_app.engine import Engine
from agents_app.protocol.events import RunEvent, RunFailed, TextDelta
from agents_app.runs import execute
from agents_app.runs.execute import run_turn
from agents_app.runs.turn import Turn
from agents_app.testing import BreakStream, Reply, ScriptedOpenAIServer, Text
from tests.conftest import scripted_settings

WORDS = [f"w{i} " for i in range(200)]


async def emitted(*replies: Any) -> list[RunEvent]:
    events: list[RunEvent] = []
    with ScriptedOpenAIServer(list(replies)) as srv:
        engine = Engine.from_settings(scripted_settings(srv))
        await run_turn(
            Turn(conversation_id="c", text="hi", agent="joker"), engine=engine, emit=events.append
        )
        await engine.aclose()
    return events


def deltas(events: list[RunEvent]) -> list[TextDelta]:
    return [e for e in events if isinstance(e, TextDelta)]


async def test_a_burst_of_words_is_a_few_deltas_and_paced_words_go_one_by_one() -> None:
    burst = deltas(await emitted(Reply([Text("".join(WORDS), chunks=WORDS)])))
    assert "".join(d.delta for d in burst) == "".join(WORDS)
    assert len(burst) < len(WORDS) / 2  # words that were ready together went together
    paced = deltas(
        await emitted(Reply([Text("".join(WORDS[:10]), chunks=WORDS[:10])], delay_s=0.02))
    )
    assert [d.delta for d in paced] == WORDS[:10]  # none waited for the next


@pytest.mark.parametrize("in_one_burst", [False, True])
async def test_words_the_model_sent_before_it_failed_are_shown_before_the_failure(
    monkeypatch: pytest.MonkeyPatch, in_one_burst: bool
) -> None:
    if in_one_burst:
        # The failure came in the same burst as the words: nothing flushed them on the way.
        monkeypatch.setattr(execute, "_more_ready", lambda result: lambda: True)
    reply = Reply([Text("".join(WORDS), chunks=WORDS)])
    events = await emitted(BreakStream(150, reply))
    assert isinstance(events[-1], RunFailed)
    shown = "".join(d.delta for d in deltas(events))
    assert shown and "".join(WORDS).startswith(shown)
    assert len(shown.split()) >= 100  # the burst before the break, not only its first words
