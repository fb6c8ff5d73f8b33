"""The offline joker never tells the same joke twice in one answer: asked for more than it
knows, it tells each once and says so."""

from __future__ import annotations

import re

import pytest
from agents import Agent, RunConfig, Runner, function_tool

from agents_app.models.offline import OfflineModelProvider
from agents_app.models.offline_text import jokes_text


@pytest.mark.parametrize("message", ["Tell me a joke about cats", "Расскажи анекдот про котов"])
@pytest.mark.parametrize("count", range(1, 11))
def test_jokes_are_never_repeated_in_one_answer(message: str, count: int) -> None:
    answer = jokes_text(count, message)
    jokes = [
        re.sub(r"^\d+\. ", "", line) for line in answer.splitlines() if re.match(r"\d+\. ", line)
    ]
    assert len(jokes) == len(set(jokes)), answer
    if len(jokes) < count:
        # Fewer than asked for only when the repertoire is exhausted, and then it says so.
        head = answer.splitlines()[0]
        assert str(count) in head and str(len(jokes)) in head, head


async def test_the_joker_asked_for_ten_tells_distinct_jokes() -> None:
    @function_tool(name_override="how_many_jokes")
    def ten() -> int:
        """Decide how many jokes to tell."""
        return 10

    joker = Agent(name="Joker", instructions="Tell jokes.", tools=[ten])
    config = RunConfig(model_provider=OfflineModelProvider(), tracing_disabled=True)
    result = await Runner.run(joker, "Tell me jokes about dogs", run_config=config)
    lines = [line for line in str(result.final_output).splitlines() if re.match(r"\d+\. ", line)]
    texts = [line.split(". ", 1)[1] for line in lines]
    assert lines and len(texts) == len(set(texts))
