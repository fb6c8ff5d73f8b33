"""Double-texting (DESIGN §3a): a new message while the conversation is still answering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection

from agents_app.engine import Engine
from agents_app.testing import Reply, ScriptedOpenAIServer, Text, ToolCall
from tests.conftest import (
    assert_whole_run,
    is_terminal,
    live_server,
    offline_settings,
    ready,
    recv_until,
)
from tests.test_gateway import function_env, gateway  # noqa: F401 (fixtures)

JOKE = "Tell me a joke about programming"


def message(text: str, **extra: Any) -> str:
    return json.dumps({"type": "user.message", "text": text, **extra})


def runs_of(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if "run_id" in event:
            runs.setdefault(event["run_id"], []).append(event)
    return runs


async def started_answering(ws: ClientConnection) -> list[dict[str, Any]]:
    return await recv_until(ws, lambda e: e["type"] == "text.delta")


def paced() -> Engine:
    return Engine.from_settings(offline_settings(offline_pace_s=0.02))


async def test_interrupt_from_another_connection_supersedes_the_running_answer() -> None:
    async with live_server(paced()) as live, live.connect() as a, live.connect() as b:
        await ready(a)
        await ready(b)
        await a.send(message(JOKE, conversation_id="m"))
        first = await started_answering(a)
        await b.send(
            message("Tell me a joke about cats", conversation_id="m", multitask="interrupt")
        )
        ended = await recv_until(a, is_terminal)
        new = await recv_until(b, is_terminal)
    old = first + ended
    assert_whole_run(old)
    assert old[-1]["type"] == "run.cancelled" and old[-1]["reason"] == "superseded"
    assert_whole_run(new)
    assert new[-1]["type"] == "run.completed" and "cats" in new[-1]["final_output"]


async def test_interrupt_from_the_same_connection_ends_the_old_run_first() -> None:
    async with live_server(paced()) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(message(JOKE))
        first = await started_answering(ws)
        await ws.send(message("Tell me a joke about cats", multitask="interrupt"))
        events = first + await recv_until(ws, lambda e: e["type"] == "run.completed")
    runs = list(runs_of(events).values())
    assert len(runs) == 2
    assert runs[0][-1]["type"] == "run.cancelled" and runs[0][-1]["reason"] == "superseded"
    # Whole runs, one after the other: nothing of the old run after the new one began.
    first_new = events.index(runs[1][0])
    assert all(e["run_id"] == runs[1][0]["run_id"] for e in events[first_new:] if "run_id" in e)
    for run in runs:
        assert_whole_run(run)


async def test_reject_is_the_default() -> None:
    async with live_server(paced()) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(message(JOKE))
        await started_answering(ws)
        await ws.send(message("again"))
        busy = await recv_until(ws, lambda e: e["type"] == "error")
        rest = await recv_until(ws, is_terminal)
    assert busy[-1]["code"] == "busy"
    assert [e["input"] for e in busy + rest if e["type"] == "run.started"] == []  # not queued


async def test_rollback_takes_the_interrupted_turn_out_of_memory(tmp_path: Path) -> None:
    with ScriptedOpenAIServer() as srv:
        srv.enqueue(
            Reply([Text("Hello Ada.")]),
            # The turn that gets rolled back: a tool call, then a slow answer.
            Reply([ToolCall("how_many_jokes", "{}", call_id="call_rolled")]),
            Reply([Text(" ".join(["word"] * 200))], delay_s=0.02),
            Reply([Text("Cats it is.")]),
        )
        settings = offline_settings(
            provider="openai", api_key="sk-test", base_url=srv.base_url, model_max_retries=0
        )
        engine = Engine.from_settings(settings)
        async with live_server(engine) as live, live.connect() as ws:
            await ready(ws)
            await ws.send(message("My name is Ada", agent="joker", conversation_id="r"))
            await recv_until(ws, is_terminal)
            before = await engine.store.session("r").get_items()
            await ws.send(message("Tell me a joke about dogs", agent="joker", conversation_id="r"))
            await started_answering(ws)
            await ws.send(
                message("No, cats", agent="joker", conversation_id="r", multitask="rollback")
            )
            events = await recv_until(ws, lambda e: e["type"] == "run.completed")
        after = await engine.store.session("r").get_items()
        last_request = json.dumps(srv.requests[-1].body)
    [rolled] = [e for e in events if e["type"] == "run.cancelled"]
    assert rolled["reason"] == "rolled_back"
    # Memory: exactly what it was before the rolled-back turn, then the new turn.
    assert after[: len(before)] == before
    rest = json.dumps(after[len(before) :])
    assert "dogs" not in rest and "call_rolled" not in rest and "No, cats" in rest
    assert "dogs" not in last_request and "My name is Ada" in last_request


async def test_interrupt_keeps_what_was_said_and_the_next_request_is_accepted() -> None:
    with ScriptedOpenAIServer() as srv:
        srv.enqueue(
            Reply([ToolCall("how_many_jokes", "{}", call_id="call_kept")]),
            Reply([Text(" ".join(["dogs"] * 200))], delay_s=0.02),
            Reply([Text("Cats it is.")]),
        )
        settings = offline_settings(
            provider="openai", api_key="sk-test", base_url=srv.base_url, model_max_retries=0
        )
        async with live_server(Engine.from_settings(settings)) as live, live.connect() as ws:
            await ready(ws)
            await ws.send(message("A joke about dogs", agent="joker", conversation_id="i"))
            await started_answering(ws)
            await ws.send(
                message("No, cats", agent="joker", conversation_id="i", multitask="interrupt")
            )
            events = await recv_until(ws, lambda e: e["type"] == "run.completed")
        last = srv.requests[-1].body
    assert events[-1]["final_output"] == "Cats it is."
    sent = json.dumps(last)
    # What the interrupted run said stays in memory: its question and its finished tool call.
    assert "A joke about dogs" in sent and "No, cats" in sent
    calls = [i for i in last["input"] if i.get("type") == "function_call"]
    outputs = {i["call_id"] for i in last["input"] if i.get("type") == "function_call_output"}
    assert all(call["call_id"] in outputs for call in calls)  # no call without its result


async def test_interrupt_reaches_a_run_in_another_invocation(gateway: Any) -> None:  # noqa: F811
    from tests.test_gateway import connect

    async with connect(gateway) as a, connect(gateway) as b:
        await a.send(message(JOKE, conversation_id="g"))
        await recv_until(a, lambda e: e["type"] == "text.delta")
        await b.send(message("cats", conversation_id="g", multitask="interrupt"))
        ended = await recv_until(a, is_terminal)
        new = await recv_until(b, is_terminal)
    assert ended[-1]["type"] == "run.cancelled" and ended[-1]["reason"] == "superseded"
    assert new[-1]["type"] == "run.completed"


async def agui_on_a_busy_thread(
    tmp_path: Path, strategy: str, run_id: str
) -> tuple[Any, list[dict[str, Any]]]:
    """With agents.yaml's `multitask: <strategy>`: a joke answers on thread `t` over the
    WebSocket while `POST /ag-ui` starts `run_id` on the same thread. (response, the joke's
    events to its end)."""
    import shutil

    import httpx

    from agents_app.settings import DEFAULT_CONFIG

    folder = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG.parent, folder)
    config = folder / "agents.yaml"
    config.write_text(
        config.read_text().replace("start: triage\n", f"start: triage\nmultitask: {strategy}\n", 1)
    )
    engine = Engine.from_settings(offline_settings(offline_pace_s=0.02, config_path=config))
    body = {
        "threadId": "t",
        "runId": run_id,
        "messages": [{"id": "u1", "role": "user", "content": "Tell me a joke about cats"}],
        "state": {},
        "tools": [],
        "context": [],
        "forwardedProps": {},
    }
    async with live_server(engine) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(message(JOKE, conversation_id="t"))
        await started_answering(ws)
        url = live.url.replace("ws://", "http://", 1) + "ag-ui"
        async with httpx.AsyncClient(timeout=20) as client:
            response = await client.post(url, json=body)
        ended = await recv_until(ws, is_terminal)
    return response, ended


async def test_agui_follows_the_configured_strategy(tmp_path: Path) -> None:
    response, ended = await agui_on_a_busy_thread(tmp_path, "interrupt", "run-agui")
    assert response.status_code == 200 and '"RUN_FINISHED"' in response.text
    assert ended[-1]["type"] == "run.cancelled" and ended[-1]["reason"] == "superseded"
