"""The warm-up's rehearsal of the model path: it completes on both APIs, and what its
in-memory transport serves is what the installed openai client accepts (no drift)."""

from __future__ import annotations

import pytest

from agents_app.models.rehearsal import chat_turns, rehearse, responses_turns
from agents_app.testing.wire_validation import validate_chat_chunk, validate_response_event


@pytest.mark.parametrize("use_responses", [True, False], ids=["responses", "chat_completions"])
async def test_rehearsal_runs_a_tool_call_then_text(use_responses: bool) -> None:
    # A tool call's events, then the text's: more than either alone would give.
    assert await rehearse(use_responses=use_responses) >= 8


def test_rehearsal_streams_match_the_openai_types() -> None:
    for turn in responses_turns():
        for event in turn:
            assert isinstance(event, dict)
            validate_response_event(event)
    for turn in chat_turns():
        assert turn[-1] == "[DONE]"
        for chunk in turn[:-1]:
            assert isinstance(chunk, dict)
            validate_chat_chunk(chunk)
