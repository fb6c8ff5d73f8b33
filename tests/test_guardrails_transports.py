"""The shipped demo guardrails on every entry point: local WebSocket, POST /ag-ui, the CLI;
and the AG-UI mapping of a trip and a retraction."""

from __future__ import annotations

import json
from pathlib import Path

from agents_app.gateway.serve import RunningGateway
from agents_app.protocol.agui import AgUiEncoder
from agents_app.protocol.events import (
    GuardrailTripped,
    MessageRetracted,
    MessageStarted,
    RunFailed,
    RunIds,
    RunStarted,
    TextDelta,
)
from tests.conftest import (
    LiveServer,
    assert_whole_run,
    is_terminal,
    live_server,
    ready,
    recv_until,
)
from tests.test_agui_http import post_run, run_input, user
from tests.test_approvals import answer, approvals_config, engine_for, until_paused
from tests.test_cli import agents_app
from tests.test_gateway import connect, function_env, gateway  # noqa: F401 (fixtures)

# The README's example: the offline judge of `relevance` refuses it by its prompt's list.
OFF_TOPIC = "Write a Python script that deletes my files"
RELEVANCE_MESSAGE = (
    'Sorry, I can only tell jokes and answer questions about the world. Try "Tell me a joke '
    'about cats" or "Who was Ada Lovelace?".'
)
IDS = RunIds(run_id="r1", conversation_id="c1")


async def test_websocket_shows_the_demo_trip_then_one_failure(server: LiveServer) -> None:
    async with server.connect() as ws:
        greeting = await ready(ws)
        assert "guardrails" in greeting["features"]
        await ws.send(OFF_TOPIC)
        events = await recv_until(ws, is_terminal)
    assert_whole_run(events)
    assert [e["type"] for e in events] == ["run.started", "guardrail.tripped", "run.failed"]
    trip, failed = events[1], events[2]
    assert (trip["guardrail"], trip["stage"], trip["agent"]) == ("relevance", "input", "triage")
    assert trip["message"] == failed["message"] == RELEVANCE_MESSAGE
    assert (failed["code"], failed["retryable"]) == ("guardrail", False)


async def test_websocket_too_long_trips_before_any_model(server: LiveServer) -> None:
    async with server.connect() as ws:
        await ready(ws)
        await ws.send("cats " * 900)  # 4500 characters: over the demo's 4000
        events = await recv_until(ws, is_terminal)
    assert [e["type"] for e in events] == ["run.started", "guardrail.tripped", "run.failed"]
    assert events[1]["guardrail"] == "too_long"


async def test_agui_http_ends_a_tripped_run_with_custom_then_run_error(
    server: LiveServer,
) -> None:
    events = await post_run(server, run_input(user(OFF_TOPIC)))
    types = [e["type"] for e in events]
    assert types == ["RUN_STARTED", "STEP_STARTED", "CUSTOM", "STEP_FINISHED", "RUN_ERROR"]
    custom, error = events[2], events[4]
    assert custom["name"] == "guardrail.tripped"
    assert custom["value"] == {
        "guardrail": "relevance",
        "stage": "input",
        "agent": "triage",
        "message": RELEVANCE_MESSAGE,
    }
    assert (error["code"], error["message"]) == ("guardrail", RELEVANCE_MESSAGE)


def test_agui_closes_a_retracted_open_message_and_names_it() -> None:
    encoder = AgUiEncoder()
    stream = [
        RunStarted(**IDS, agent="a", input="x"),
        MessageStarted(**IDS, message_id="m1", agent="a"),
        TextDelta(**IDS, message_id="m1", agent="a", delta="half"),
        GuardrailTripped(**IDS, guardrail="g", stage="input", agent="a", message="No."),
        MessageRetracted(**IDS, message_id="m1"),
        RunFailed(**IDS, code="guardrail", message="No."),
    ]
    out = [
        e.model_dump(by_alias=True, exclude_none=True)
        for ev in stream
        for e in encoder.translate(ev)
    ]
    assert [e["type"] for e in out] == [
        "RUN_STARTED",
        "STEP_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "CUSTOM",
        "TEXT_MESSAGE_END",
        "CUSTOM",
        "STEP_FINISHED",
        "RUN_ERROR",
    ]
    assert out[6]["name"] == "message.retracted" and out[6]["value"] == {"message_id": "m1"}
    # The message was closed once: RUN_ERROR does not close it again.
    assert sum(e["type"] == "TEXT_MESSAGE_END" for e in out) == 1


def test_cli_prints_the_trip_and_exits_non_zero(tmp_path: Path) -> None:
    done = agents_app("chat", OFF_TOPIC, "--format", "json", AGENTS_DATA_DIR=str(tmp_path))
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [e["type"] for e in events] == ["run.started", "guardrail.tripped", "run.failed"]
    assert events[1]["guardrail"] == "relevance"
    assert done.returncode != 0

    pretty = agents_app("chat", OFF_TOPIC, "--format", "pretty", AGENTS_DATA_DIR=str(tmp_path))
    assert f"⛔ relevance (input of triage): {RELEVANCE_MESSAGE}" in pretty.stdout


async def test_the_cloud_function_shows_the_demo_trip(gateway: RunningGateway) -> None:  # noqa: F811
    async with connect(gateway) as ws:
        await ws.send(OFF_TOPIC)
        events = await recv_until(ws, is_terminal)
    run = [e for e in events if "run_id" in e]
    assert_whole_run(run)
    assert [e["type"] for e in run] == ["run.started", "guardrail.tripped", "run.failed"]
    assert run[1]["guardrail"] == "relevance" and run[2]["code"] == "guardrail"


async def test_an_output_trip_after_an_approval_leaves_a_usable_conversation(
    tmp_path: Path,
) -> None:
    """openai-agents #4827: output guardrails with approvals could leave a tool output with no
    call in the session, which real providers refuse on the next turn."""
    config = approvals_config(tmp_path)
    text = config.read_text(encoding="utf-8").replace(
        "    tools: [how_many_jokes]\n",
        "    tools: [how_many_jokes]\n    guardrails: {output: [no_jokes]}\n",
    )
    text = text.replace(
        "guardrails:\n  too_long:",
        "guardrails:\n  no_jokes: {kind: keywords, words: [cats], mode: stream}\n  too_long:",
    )
    config.write_text(text, encoding="utf-8")
    engine = engine_for(config)
    async with live_server(engine) as live, live.connect() as ws:
        conversation = (await ready(ws))["conversation_id"]
        await ws.send("Tell me a joke about cats")
        stop = (await until_paused(ws))[-1]
        resumed = await answer(ws, stop["run_id"], call_id=stop["pending"][0], approve=True)
        assert [e["type"] for e in resumed][-3:] == [
            "guardrail.tripped",
            "message.retracted",
            "run.failed",
        ]
        assert_whole_run(resumed)

        items = await engine.store.session(conversation).get_items()
        calls = {i.get("call_id") for i in items if i.get("type") == "function_call"}
        outputs = {i.get("call_id") for i in items if i.get("type") == "function_call_output"}
        assert outputs and outputs <= calls, "a tool output without its call"

        await ws.send(json.dumps({"type": "user.message", "text": "hello", "agent": "triage"}))
        assert (await recv_until(ws, is_terminal))[-1]["type"] == "run.completed"
