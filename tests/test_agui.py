"""The `ag-ui` output format: protocol events → AG-UI events, checked against ag-ui-protocol."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ag_ui.core import Event as AgUiEvent
from pydantic import TypeAdapter

from agents_app.engine import Engine
from agents_app.protocol.agui import AgUiEncoder
from agents_app.protocol.events import Error, Pong, RunEvent
from agents_app.runs.execute import run_turn
from agents_app.runs.turn import Turn
from agents_app.testing import Fail, ScriptedOpenAIServer
from tests.conftest import LiveServer, live_server, offline_settings, scripted_settings
from tests.test_cli import agents_app

JOKE = "Tell me a joke about programming"
agui_event: TypeAdapter[Any] = TypeAdapter(AgUiEvent)


def encode_all(encoder: AgUiEncoder, events: list[RunEvent]) -> list[dict[str, Any]]:
    """Every frame, validated by ag-ui-protocol's own models, as the JSON a client reads."""
    out: list[dict[str, Any]] = []
    for event in events:
        for frame in encoder(event) or []:
            agui_event.validate_json(frame)
            out.append(json.loads(frame))
    return out


def no_content(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events if e["type"] != "TEXT_MESSAGE_CONTENT"]


async def test_joke_run_maps_to_a_well_formed_agui_run(engine: Engine) -> None:
    events: list[RunEvent] = []
    await run_turn(Turn(conversation_id="conv-1", text=JOKE), engine=engine, emit=events.append)
    frames = encode_all(AgUiEncoder(model=engine.model_info), events)

    assert no_content(frames) == [
        "RUN_STARTED",
        "STEP_STARTED",
        "STEP_FINISHED",
        "STEP_STARTED",
        "CUSTOM",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_RESULT",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_END",
        "STEP_FINISHED",
        "RUN_FINISHED",
    ]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for frame in frames:
        by_type.setdefault(frame["type"], []).append(frame)
    run_id = events[0].run_id
    for kind in ("RUN_STARTED", "RUN_FINISHED"):
        assert (by_type[kind][0]["threadId"], by_type[kind][0]["runId"]) == ("conv-1", run_id)
    assert [s["stepName"] for s in by_type["STEP_STARTED"]] == ["triage", "joker"]
    assert [s["stepName"] for s in by_type["STEP_FINISHED"]] == ["triage", "joker"]
    assert by_type["CUSTOM"][0]["name"] == "agent.switched"
    assert by_type["CUSTOM"][0]["value"] == {"from_agent": "triage", "to_agent": "joker"}

    call_id = by_type["TOOL_CALL_START"][0]["toolCallId"]
    assert by_type["TOOL_CALL_START"][0]["toolCallName"] == "how_many_jokes"
    assert by_type["TOOL_CALL_ARGS"][0] == {**by_type["TOOL_CALL_ARGS"][0], "delta": "{}"}
    result = by_type["TOOL_CALL_RESULT"][0]
    assert result["toolCallId"] == call_id and result["content"] == "3"
    assert result["metadata"]["error"] is None and result["metadata"]["duration_ms"] >= 0

    message_id = by_type["TEXT_MESSAGE_START"][0]["messageId"]
    assert by_type["TEXT_MESSAGE_START"][0]["name"] == "joker"
    contents = by_type["TEXT_MESSAGE_CONTENT"]
    assert {c["messageId"] for c in contents} == {message_id}
    text = "".join(c["delta"] for c in contents)
    assert "programming" in text.lower()

    finished = by_type["RUN_FINISHED"][0]
    assert finished["result"]["final_output"] == text
    assert finished["result"]["agent"] == "joker"
    assert finished["result"]["usage"]["requests"] == 4  # with the relevance judge's
    [usage] = finished["usage"]
    assert usage["provider"] == "offline" and usage["totalTokens"] > 0
    assert all(isinstance(f["timestamp"], int) for f in frames)


async def test_cancelled_run_closes_what_is_open_and_says_cancelled() -> None:
    engine = Engine.from_settings(offline_settings(offline_pace_s=0.01))
    events: list[RunEvent] = []
    text_started = asyncio.Event()

    def emit(event: RunEvent) -> None:
        events.append(event)
        if event.type == "text.delta":
            text_started.set()

    task = asyncio.create_task(
        run_turn(Turn(conversation_id="c", text=JOKE), engine=engine, emit=emit)
    )
    await asyncio.wait_for(text_started.wait(), 10)
    task.cancel("stop")
    await asyncio.gather(task, return_exceptions=True)

    frames = encode_all(AgUiEncoder(), events)
    tail = no_content(frames)[-3:]
    assert tail == ["TEXT_MESSAGE_END", "STEP_FINISHED", "RUN_FINISHED"]
    assert frames[-1]["outcome"] == {"type": "cancelled"}
    assert frames[-1]["metadata"] == {"reason": "stop"}


async def test_model_failure_is_a_run_error_with_our_code() -> None:
    with ScriptedOpenAIServer([Fail(500)]) as srv:
        engine = Engine.from_settings(scripted_settings(srv))
        events: list[RunEvent] = []
        await run_turn(Turn(conversation_id="c", text="hi"), engine=engine, emit=events.append)
    frames = encode_all(AgUiEncoder(), events)
    assert no_content(frames) == ["RUN_STARTED", "STEP_STARTED", "STEP_FINISHED", "RUN_ERROR"]
    assert frames[-1]["code"] == "model_error"
    assert frames[-1]["metadata"] == {"retryable": True}
    assert frames[-1]["message"]


def test_connection_events_travel_as_custom_events() -> None:
    encoder = AgUiEncoder()
    [frame] = encoder(Error(code="busy", message="A run is in progress.")) or []
    assert json.loads(frame) == {
        "type": "CUSTOM",
        "timestamp": json.loads(frame)["timestamp"],
        "name": "error",
        "value": {"code": "busy", "message": "A run is in progress."},
    }
    [pong] = encoder(Pong()) or []
    assert json.loads(pong)["name"] == "pong"


def test_sse_framing_is_agui_event_encoder_framing() -> None:
    [frame] = AgUiEncoder(sse=True)(Pong()) or []
    assert frame.startswith("data: {") and frame.endswith("}\n\n")
    agui_event.validate_json(frame.removeprefix("data: "))


async def test_websocket_speaks_agui_when_asked() -> None:
    async with live_server(Engine.from_settings(offline_settings())) as live:
        frames = await _agui_ws_run(live, JOKE)
    assert frames[0]["type"] == "CUSTOM" and frames[0]["name"] == "session.ready"
    run = frames[1:]
    assert run[0]["type"] == "RUN_STARTED" and run[-1]["type"] == "RUN_FINISHED"
    assert run[0]["threadId"] == frames[0]["value"]["conversation_id"]
    assert "TOOL_CALL_RESULT" in no_content(run)
    for frame in frames:
        agui_event.validate_python(frame)


async def _agui_ws_run(live: LiveServer, text: str) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    async with live.connect("?format=ag-ui") as ws:
        frames.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        await ws.send(text)
        async with asyncio.timeout(10):
            while frames[-1]["type"] not in ("RUN_FINISHED", "RUN_ERROR"):
                frames.append(json.loads(await ws.recv()))
    return frames


def test_cli_chat_prints_agui_events_a_line_each() -> None:
    result = agents_app("chat", "--format", "ag-ui", "joke about cats")
    assert result.returncode == 0, result.stderr
    frames = [agui_event.validate_json(line) for line in result.stdout.splitlines()]
    assert frames[0].type == "RUN_STARTED" and frames[-1].type == "RUN_FINISHED"
