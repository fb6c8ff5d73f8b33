"""Tool call ids stay unique when the provider repeats them (AI Studio sends the tool name)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents_app.engine import Engine
from agents_app.models.call_ids import provider_call_id
from agents_app.protocol.events import RunEvent
from agents_app.runs.execute import run_turn
from agents_app.runs.turn import Turn
from agents_app.testing import Reply, ScriptedOpenAIServer, Text, ToolCall
from tests.test_model_backends import remote_settings

# AI Studio's documented function-call output: `call_id` is the tool's name.
TWO_CALLS_ONE_ID = Reply(
    [
        ToolCall("how_many_jokes", '{"topic": "cats"}', call_id="how_many_jokes"),
        ToolCall("how_many_jokes", '{"topic": "dogs"}', call_id="how_many_jokes"),
    ]
)


async def run(engine: Engine, text: str) -> list[RunEvent]:
    events: list[RunEvent] = []
    turn = Turn(conversation_id="c1", text=text, agent="joker")
    await run_turn(turn, engine=engine, emit=events.append)
    return events


def calls(events: list[Any], kind: str) -> list[Any]:
    return [e for e in events if e.type == kind]


class Event:
    """A JSON event from the WebSocket, read by attribute like the typed ones."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)


async def conversation(engine: Engine, *texts: str) -> list[list[Event]]:
    """Runs of one conversation over the WebSocket (the server keeps its history)."""
    from tests.conftest import is_terminal, live_server, recv_json, recv_until

    runs = []
    async with live_server(engine) as live, live.connect() as ws:
        await recv_json(ws)
        for text in texts:
            await ws.send(json.dumps({"type": "user.message", "text": text, "agent": "joker"}))
            runs.append([Event(e) for e in await recv_until(ws, is_terminal)])
    return runs


def sent_call_ids(body: dict[str, Any], api: str) -> tuple[list[str], list[str]]:
    """(ids of the calls, ids the outputs answer) in a request, as the provider reads them."""
    if api == "responses":
        items = body["input"]
        made = [i["call_id"] for i in items if i.get("type") == "function_call"]
        answered = [i["call_id"] for i in items if i.get("type") == "function_call_output"]
        return made, answered
    messages = body["messages"]
    made = [c["id"] for m in messages for c in m.get("tool_calls") or []]
    answered = [m["tool_call_id"] for m in messages if m["role"] == "tool"]
    return made, answered


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_two_parallel_calls_with_one_provider_id_stay_apart(
    srv: ScriptedOpenAIServer, api: str
) -> None:
    srv.enqueue(TWO_CALLS_ONE_ID, Text("Two topics, two counts."))
    srv.enqueue(TWO_CALLS_ONE_ID, Text("And again."))
    engine = Engine.from_settings(remote_settings(srv, api=api))

    first, second = await conversation(engine, "jokes about cats and dogs", "more")
    started, done = calls(first, "tool.call.started"), calls(first, "tool.call.completed")
    ids = [e.call_id for e in started]
    assert len(set(ids)) == 2, ids
    assert [e.arguments for e in started] == [{"topic": "cats"}, {"topic": "dogs"}]
    # Each result is paired with its own call, and both ran (the SDK de-duplicates calls by id).
    assert [e.call_id for e in done] == ids
    assert all(e.output.isdigit() and e.error is None for e in done)
    assert first[-1].type == "run.completed"
    assert [provider_call_id(i) for i in ids] == ["how_many_jokes"] * 2

    # The provider reads back its own ids, for the calls and for their outputs.
    assert sent_call_ids(srv.requests[1].body, api) == (["how_many_jokes"] * 2,) * 2

    # The next run in the conversation repeats the provider's id again: still new ids.
    again = [e.call_id for e in calls(second, "tool.call.started")]
    assert len(set(again)) == 2 and not set(again) & set(ids)
    assert [e.call_id for e in calls(second, "tool.call.completed")] == again
    assert sent_call_ids(srv.requests[3].body, api) == (["how_many_jokes"] * 4,) * 2
    assert srv.remaining == 0


async def test_unique_provider_ids_pass_through_untouched(srv: ScriptedOpenAIServer) -> None:
    srv.enqueue(
        Reply([ToolCall("how_many_jokes", call_id="call_a"), ToolCall("how_many_jokes")]),
        Text("done"),
    )
    engine = Engine.from_settings(remote_settings(srv, api="chat_completions"))
    events = await run(engine, "jokes")
    ids = [e.call_id for e in calls(events, "tool.call.started")]
    assert ids[0] == "call_a" and ids[1].startswith("call_") and "~" not in ids[1]
    assert json.dumps(srv.requests[1].body).count('"call_a"') == 2  # the call and its output


def test_provider_ids_are_read_back_without_state() -> None:
    assert provider_call_id("how_many_jokes~0a1b2c3d") == "how_many_jokes"
    assert provider_call_id("how~many~0a1b2c3d") == "how~many"
    assert provider_call_id("call_abc") == "call_abc"
    assert provider_call_id("x~notahex") == "x~notahex"
