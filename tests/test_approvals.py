"""Human approval of tool calls (DESIGN §3a): a run pauses, a person decides, the run goes on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from agents_app.config.loader import load_config
from agents_app.engine import Engine, graph_for
from agents_app.settings import DEFAULT_CONFIG
from tests.conftest import (
    assert_whole_run,
    is_terminal,
    live_server,
    offline_settings,
    ready,
    recv_json,
    recv_until,
)
from tests.test_gateway import function_env, gateway  # noqa: F401 (fixtures)
from tools.registry import tool_names

JOKE = "Tell me a joke about cats"


def approvals_config(tmp_path: Path, rule: str = "always") -> Path:
    """The shipped config, with the joker's tool needing a person's yes."""
    folder = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG.parent, folder)
    agents = folder / "agents.yaml"
    text = agents.read_text().replace(
        "    tools: [how_many_jokes]\n",
        f"    tools: [how_many_jokes]\n    approvals: {{how_many_jokes: {rule}}}\n",
    )
    agents.write_text(text)
    return agents


def engine_for(config: Path, **overrides: Any) -> Engine:
    return Engine.from_settings(offline_settings(config_path=config, **overrides))


async def until_paused(ws: ClientConnection) -> list[dict[str, Any]]:
    return await recv_until(ws, lambda e: is_terminal(e) or e["type"] == "error")


async def answer(ws: ClientConnection, run_id: str, **decision: Any) -> list[dict[str, Any]]:
    decisions = decision.pop("decisions", None) or [decision]
    await ws.send(json.dumps({"type": "run.resume", "run_id": run_id, "decisions": decisions}))
    return await recv_until(ws, lambda e: is_terminal(e) or e["type"] == "error")


async def test_a_call_that_needs_approval_pauses_the_run_and_an_approval_goes_on(
    tmp_path: Path,
) -> None:
    async with live_server(engine_for(approvals_config(tmp_path))) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(JOKE)
        paused = await until_paused(ws)
        assert [e["type"] for e in paused] == [
            "run.started",
            "agent.switched",
            "tool.call.started",
            "approval.requested",
            "run.interrupted",
        ]
        assert_whole_run(paused)
        asked, stop = paused[-2], paused[-1]
        assert asked["tool"] == "how_many_jokes" and asked["agent"] == "joker"
        assert asked["call_id"] == paused[2]["call_id"] and stop["pending"] == [asked["call_id"]]
        assert asked["expires_at"] > paused[0]["ts"]

        resumed = await answer(ws, stop["run_id"], call_id=asked["call_id"], approve=True)
        assert_whole_run(resumed)
        first = resumed[0]
        assert first["type"] == "run.started" and first["resumed_from"] == stop["run_id"]
        assert first["run_id"] != stop["run_id"] and first["agent"] == "joker"
        [done] = [e for e in resumed if e["type"] == "tool.call.completed"]
        assert done["call_id"] == asked["call_id"] and done["output"] == "3" and not done["error"]
        assert resumed[-1]["type"] == "run.completed" and "cats" in resumed[-1]["final_output"]

        # The conversation goes on as usual afterwards.
        await ws.send(json.dumps({"type": "user.message", "text": "hello", "agent": "triage"}))
        assert (await recv_until(ws, is_terminal))[-1]["type"] == "run.completed"


async def test_a_rejection_reaches_the_model_and_the_call_reports_it(tmp_path: Path) -> None:
    async with live_server(engine_for(approvals_config(tmp_path))) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(JOKE)
        stop = (await until_paused(ws))[-1]
        [call_id] = stop["pending"]
        resumed = await answer(
            ws, stop["run_id"], call_id=call_id, approve=False, message="Not today."
        )
    [done] = [e for e in resumed if e["type"] == "tool.call.completed"]
    assert done["error"] == "Rejected: Not today."
    assert resumed[-1]["type"] == "run.completed"
    assert "Not today." in resumed[-1]["final_output"]  # the offline model quotes its tools


async def test_resume_is_acted_on_once_and_only_with_every_decision(tmp_path: Path) -> None:
    async with live_server(engine_for(approvals_config(tmp_path))) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(JOKE)
        stop = (await until_paused(ws))[-1]
        [call_id] = stop["pending"]
        wrong = await answer(ws, stop["run_id"], call_id="call_other", approve=True)
        assert wrong[-1]["code"] == "bad_request" and "call_other" in wrong[-1]["message"]
        assert (await answer(ws, stop["run_id"], call_id=call_id, approve=True))[-1][
            "type"
        ] == "run.completed"
        again = await answer(ws, stop["run_id"], call_id=call_id, approve=True)
    assert again == [{"type": "error", "code": "not_found", "message": again[0]["message"]}]


async def test_a_message_while_a_decision_is_pending_is_refused(tmp_path: Path) -> None:
    async with live_server(engine_for(approvals_config(tmp_path))) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(JOKE)
        stop = (await until_paused(ws))[-1]
        await ws.send("never mind, something else")
        refused = await recv_json(ws)
    assert refused["type"] == "error" and refused["code"] == "approval_pending"
    assert stop["run_id"] in refused["message"]


async def test_another_connection_and_a_restarted_server_can_decide(tmp_path: Path) -> None:
    config = approvals_config(tmp_path)
    data = tmp_path / "data"
    async with live_server(engine_for(config, data_dir=data)) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(json.dumps({"type": "user.message", "text": JOKE, "conversation_id": "c"}))
        stop = (await until_paused(ws))[-1]
    # A new server process on the same store: the paused state comes from the store.
    async with live_server(engine_for(config, data_dir=data)) as live, live.connect() as ws:
        await ready(ws)
        [call_id] = stop["pending"]
        resumed = await answer(ws, stop["run_id"], call_id=call_id, approve=True)
    assert resumed[-1]["type"] == "run.completed" and resumed[0]["conversation_id"] == "c"


async def test_an_expired_approval_cannot_be_resumed(tmp_path: Path) -> None:
    import asyncio

    engine = engine_for(approvals_config(tmp_path), approval_ttl_s=0.3)
    async with live_server(engine) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(JOKE)
        paused = await until_paused(ws)
        stop = paused[-1]
        assert paused[-2]["expires_at"] - paused[-2]["ts"] <= 400
        await asyncio.sleep(0.5)
        late = await answer(ws, stop["run_id"], call_id=stop["pending"][0], approve=True)
        assert late[-1]["code"] == "not_found"
        # Expired means over: the conversation takes new messages again.
        await ws.send(json.dumps({"type": "user.message", "text": "hi", "agent": "triage"}))
        assert (await recv_until(ws, is_terminal))[-1]["type"] == "run.completed"


async def test_a_changed_config_does_not_resume_into_another_graph(tmp_path: Path) -> None:
    config = approvals_config(tmp_path)
    engine = engine_for(config)
    async with live_server(engine) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(JOKE)
        stop = (await until_paused(ws))[-1]
        config.write_text(config.read_text().replace("temperature: 0.9", "temperature: 0.8"))
        engine.swap_graph(graph_for(load_config(config, tool_names=tool_names()), engine.settings))
        refused = await answer(ws, stop["run_id"], call_id=stop["pending"][0], approve=True)
    assert (
        refused[-1]["code"] == "bad_request" and "configuration changed" in refused[-1]["message"]
    )


@pytest.mark.parametrize(
    ("url", "asks"),
    [
        ("https://en.wikipedia.org/wiki/Cat", False),
        ("https://wikipedia.org/", False),
        ("https://evilwikipedia.org/", True),
        ("https://wikipedia.org.evil.example/", True),
        ("ftp://wikipedia.org/", True),
        ("not a url", True),
        (None, True),
    ],
)
def test_domain_rule(url: str | None, asks: bool) -> None:
    from agents_app.approvals import asks as rule_asks
    from agents_app.config.tool_specs import ArgumentRule

    rule = ArgumentRule(argument="url", domain_not_in=("wikipedia.org",))
    assert rule_asks(rule, {"url": url} if url is not None else {}) is asks


def test_approvals_for_a_tool_the_agent_lacks_is_a_positioned_error(tmp_path: Path) -> None:
    from agents_app.config import ConfigError

    config = approvals_config(tmp_path)
    config.write_text(config.read_text().replace("{how_many_jokes: always}", "{fetch_url: always}"))
    with pytest.raises(ConfigError) as caught:
        load_config(config, tool_names=tool_names())
    message = str(caught.value)
    assert f"{config}:" in message and "fetch_url" in message and "not one of this agent" in message


async def test_agui_clients_see_an_interrupt_outcome(tmp_path: Path) -> None:
    from ag_ui.core import Event as AgUiEvent
    from pydantic import TypeAdapter

    events: TypeAdapter[Any] = TypeAdapter(AgUiEvent)
    async with (
        live_server(engine_for(approvals_config(tmp_path))) as live,
        live.connect("?format=ag-ui") as ws,
    ):
        await recv_json(ws)  # session.ready, as CUSTOM
        await ws.send(JOKE)
        frames = await recv_until(ws, lambda e: e["type"] in {"RUN_FINISHED", "RUN_ERROR"})
    for frame in frames:
        events.validate_python(frame)
    finished = frames[-1]
    assert finished["outcome"]["type"] == "interrupt"
    [interrupt] = finished["outcome"]["interrupts"]
    [call] = [f for f in frames if f["type"] == "TOOL_CALL_START"]
    assert interrupt["toolCallId"] == call["toolCallId"] and interrupt["reason"] == "tool_call"
    assert interrupt["metadata"]["tool"] == "how_many_jokes" and interrupt["expiresAt"]


@pytest.mark.parametrize("approve", [True, False])
async def test_paused_in_one_invocation_resumed_from_another(
    approve: bool,
    tmp_path: Path,
    gateway: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.test_gateway import connect

    monkeypatch.setenv("AGENTS_CONFIG", str(approvals_config(tmp_path)))
    async with connect(gateway) as ws:
        await ws.send(JOKE)
        stop = (await until_paused(ws))[-1]
    async with connect(gateway) as ws:  # another connection: another invocation
        resumed = await answer(ws, stop["run_id"], call_id=stop["pending"][0], approve=approve)
    resumed = [e for e in resumed if e["type"] != "session.ready"]
    assert resumed[0]["resumed_from"] == stop["run_id"]
    assert resumed[-1]["type"] == "run.completed"
    [done] = [e for e in resumed if e["type"] == "tool.call.completed"]
    assert (done["error"] is None) is approve


def test_the_graph_shows_which_calls_wait_for_approval(tmp_path: Path) -> None:
    from agents_app.authoring.graph_page import graph_page
    from agents_app.authoring.mermaid import GraphShape, to_mermaid

    config = approvals_config(tmp_path, "{argument: topic, not_in: [cats]}")
    shape = GraphShape.of(load_config(config, tool_names=tool_names()))
    assert shape.asks("joker", "how_many_jokes") == "unless topic is one of cats"
    assert shape.asks("researcher", "fetch_url") is None
    assert "-.->|tool, needs approval| tool_how_many_jokes" in to_mermaid(shape)
    page = graph_page(shape, source="agents.yaml", mermaid=to_mermaid(shape))
    assert "needs approval unless topic is one of cats" in page


@pytest.mark.parametrize(
    "provider_ids",
    [("call_a", "call_b"), ("how_many_jokes", "how_many_jokes")],  # the latter: AI Studio's
    ids=["unique", "tool-name"],
)
async def test_two_waiting_calls_decided_differently(
    tmp_path: Path, provider_ids: tuple[str, str]
) -> None:
    from agents_app.testing import Reply, ScriptedOpenAIServer, Text, ToolCall

    with ScriptedOpenAIServer() as srv:
        srv.enqueue(
            Reply([ToolCall("how_many_jokes", "{}", call_id=each) for each in provider_ids]),
            Reply([Text("One joke it is.")]),
        )
        settings = offline_settings(
            provider="openai",
            api_key="sk-test",
            base_url=srv.base_url,
            model_max_retries=0,
            config_path=approvals_config(tmp_path),
        )
        async with live_server(Engine.from_settings(settings)) as live, live.connect() as ws:
            await ready(ws)
            await ws.send(json.dumps({"type": "user.message", "text": "jokes", "agent": "joker"}))
            paused = await until_paused(ws)
            first, second = [e["call_id"] for e in paused if e["type"] == "approval.requested"]
            assert first != second
            assert paused[-1]["pending"] == [first, second]
            resumed = await answer(
                ws,
                paused[-1]["run_id"],
                decisions=[
                    {"call_id": first, "approve": True},
                    {"call_id": second, "approve": False, "message": "One is enough."},
                ],
            )
        sent = json.dumps(srv.requests[-1].body)
    done = {e["call_id"]: e for e in resumed if e["type"] == "tool.call.completed"}
    assert done[first]["error"] is None and done[first]["output"].isdigit()
    assert done[second]["error"] == "Rejected: One is enough."
    assert (
        resumed[-1]["type"] == "run.completed" and resumed[-1]["final_output"] == "One joke it is."
    )
    assert "One is enough." in sent  # the model read the refusal


def test_the_shipped_example_pauses_with_the_offline_model(tmp_path: Path) -> None:
    from tests.test_cli import ROOT, agents_app

    example = ROOT / "config" / "examples" / "approvals.yaml"
    validated = agents_app("validate", "--strict", str(example))
    assert validated.returncode == 0, validated.stderr
    assert "needs approval: joker.how_many_jokes, researcher.fetch_url" in validated.stdout
    env = {"AGENTS_CONFIG": str(example), "AGENTS_DATA_DIR": str(tmp_path)}
    paused = agents_app("chat", "Tell me a joke about cats", "-f", "json", **env)
    assert paused.returncode == 3, paused.stderr
    assert json.loads(paused.stdout.splitlines()[-1])["type"] == "run.interrupted"


@pytest.mark.parametrize("decision", ["approve", "reject"])
async def test_the_official_agui_client_pauses_and_resumes(tmp_path: Path, decision: str) -> None:
    import asyncio

    from tests.deps import NODE_DIR, node_with_agui_client

    node = node_with_agui_client()
    async with live_server(engine_for(approvals_config(tmp_path))) as live:
        url = live.url.replace("ws://", "http://", 1) + "ag-ui"
        proc = await asyncio.create_subprocess_exec(
            node,
            str(NODE_DIR / "agui_approval.mjs"),
            url,
            JOKE,
            decision,
            cwd=NODE_DIR,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    report = json.loads(out.decode().strip().splitlines()[-1])
    assert report["error"] is None, report["error"]
    assert report["first"]["finished"] == "interrupt" and len(report["interrupts"]) == 1
    second = report["second"]
    assert second["runError"] is None and second["finished"] == "success"
    [result] = [e for e in second["events"] if e["type"] == "TOOL_CALL_RESULT"]
    assert result["toolCallId"] == report["interrupts"][0]["toolCallId"]
    if decision == "approve":
        assert result["content"] == "3" and result["metadata"]["error"] is None
    else:
        assert result["metadata"]["error"] == "Rejected: Not from the client."


async def test_a_new_message_can_drop_the_waiting_calls_instead(tmp_path: Path) -> None:
    engine = engine_for(approvals_config(tmp_path), approval_on_message="reject")
    async with live_server(engine) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(JOKE)
        stop = (await until_paused(ws))[-1]
        await ws.send(json.dumps({"type": "user.message", "text": "hello", "agent": "triage"}))
        answered = await recv_until(ws, is_terminal)
        assert answered[-1]["type"] == "run.completed"
        late = await answer(ws, stop["run_id"], call_id=stop["pending"][0], approve=True)
    assert late[-1]["code"] == "not_found"  # the waiting calls were dropped, never to run


async def test_an_unreadable_record_or_a_store_failure_costs_the_frame_not_the_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents_app.memory.store import StoreUnavailable

    engine = engine_for(approvals_config(tmp_path))
    await engine.store.save_approval("run_odd", "c", '{"not": "a record"}', ttl_s=30)
    async with live_server(engine) as live, live.connect() as ws:
        await ready(ws)
        odd = await answer(ws, "run_odd", call_id="x", approve=True)
        assert odd[-1]["code"] == "not_found"

        async def down(*_: Any) -> None:
            raise StoreUnavailable("sqlite: down")

        monkeypatch.setattr(engine.store, "take_approval", down)
        record = odd_record(engine.graph.fingerprint)
        await engine.store.save_approval("run_ok", "c", record, ttl_s=30)
        failed = await answer(ws, "run_ok", call_id="call_1", approve=True)
        assert failed[-1]["code"] == "unavailable"
        await ws.send('{"type":"ping"}')  # the connection is still good
        assert await recv_json(ws) == {"type": "pong"}


def odd_record(config: str) -> str:
    from agents_app.runs.approval import Paused, PendingCall

    return Paused(
        run_id="run_ok",
        conversation_id="c",
        config=config,
        expires_at=0,
        pending=[PendingCall("call_1", "joker", "how_many_jokes", {})],
        state={},
    ).to_record()
