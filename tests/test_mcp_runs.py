"""MCP tools in whole runs over the WebSocket: the scripted model and the offline model call
them on real servers; every failure is a `tool.call.completed.error` and the run goes on."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents_app.engine import Engine
from agents_app.logs import configure_logging
from agents_app.settings import Settings
from agents_app.testing import Reply, ScriptedOpenAIServer, Text, ToolCall
from tests.conftest import assert_whole_run, is_terminal, live_server, ready, recv_until
from tests.mcp_helpers import McpProcess, free_port, http_entry, write_config


def scripted_settings(srv: ScriptedOpenAIServer, config_path: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "provider": "openai",
        "api_key": "sk-mcp-tests",
        "base_url": srv.base_url,
        "model_max_retries": 0,
        "data_dir": Path(tempfile.mkdtemp(prefix="agents-app-mcp-")),
        "log_level": "WARNING",
        "config_path": config_path,
    }
    return Settings(**(values | extra))


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[McpProcess]:
    with McpProcess() as server:
        yield server


async def one_run(engine: Engine, text: str = "go") -> list[dict[str, Any]]:
    try:
        async with live_server(engine) as live, live.connect() as ws:
            await ready(ws)
            await ws.send(json.dumps({"type": "user.message", "text": text}))
            events = await recv_until(ws, is_terminal, wait_s=30)
    finally:
        await engine.aclose()
    assert_whole_run(events)
    return events


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


async def scripted_call(
    srv: ScriptedOpenAIServer, tmp_path: Path, entry: str, tool: str, arguments: str = "{}"
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """One run where the model calls `tool` once, then answers: (started, completed, all)."""
    srv.enqueue(Reply([ToolCall(tool, arguments)]), Reply([Text("Done.")]))
    engine = Engine.from_settings(scripted_settings(srv, write_config(tmp_path, entry)))
    events = await one_run(engine)
    (started,) = of_type(events, "tool.call.started")
    (completed,) = of_type(events, "tool.call.completed")
    assert events[-1]["type"] == "run.completed"  # the run goes on after any tool failure
    return started, completed, events


async def test_a_scripted_model_calls_an_mcp_tool_end_to_end(
    srv: ScriptedOpenAIServer, mcp_server: McpProcess, tmp_path: Path
) -> None:
    started, completed, _ = await scripted_call(
        srv, tmp_path, http_entry(mcp_server.url), "add_note", '{"text": "buy milk"}'
    )
    assert started["server"] == "notes" and started["arguments"] == {"text": "buy milk"}
    assert completed["server"] == "notes" and completed["error"] is None
    assert re.fullmatch(r"Saved note \d+: buy milk", completed["output"])  # the text, not JSON
    # Discovery reached the model: the server's tools were in its request.
    offered = {tool["name"] for tool in srv.requests[0].body["tools"]}
    assert {"add_note", "list_notes", "fail"} <= offered


async def test_denied_tools_never_reach_the_model(
    srv: ScriptedOpenAIServer, mcp_server: McpProcess, tmp_path: Path
) -> None:
    entry = http_entry(mcp_server.url, extra="    tools: {deny: [die, slow, fail, whoami]}\n")
    _, completed, _ = await scripted_call(srv, tmp_path, entry, "list_notes")
    assert completed["error"] is None and completed["server"] == "notes"
    offered = {tool["name"] for tool in srv.requests[0].body["tools"]}
    assert offered == {"add_note", "list_notes", "delete_note"}


async def test_a_server_down_at_start_gives_a_typed_tool_error(
    srv: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    entry = http_entry(url, extra="    tools: {allow: [add_note]}\n")
    _, completed, _ = await scripted_call(srv, tmp_path, entry, "add_note", '{"text": "x"}')
    assert completed["server"] == "notes"
    assert completed["error"].startswith("MCP server 'notes' is unavailable: ")
    assert completed["output"] == f"Error: {completed['error']}"  # what the model read


async def test_a_tool_error_result_is_the_calls_error(
    srv: ScriptedOpenAIServer, mcp_server: McpProcess, tmp_path: Path
) -> None:
    _, completed, _ = await scripted_call(srv, tmp_path, http_entry(mcp_server.url), "fail")
    assert "frobnicator is out of order" in completed["error"]
    assert "frobnicator" in completed["output"]


async def test_a_slow_tool_times_out(
    srv: ScriptedOpenAIServer, mcp_server: McpProcess, tmp_path: Path
) -> None:
    entry = http_entry(mcp_server.url, timeout=0.5)
    _, completed, _ = await scripted_call(srv, tmp_path, entry, "slow", '{"seconds": 5}')
    assert completed["error"] == "MCP server 'notes' did not answer slow within 0.5 s"
    assert completed["duration_ms"] < 3000


async def test_a_server_that_dies_mid_call(srv: ScriptedOpenAIServer, tmp_path: Path) -> None:
    with McpProcess() as dying:
        _, completed, _ = await scripted_call(srv, tmp_path, http_entry(dying.url), "die")
        assert not dying.alive
    assert "was lost during die" in completed["error"]


async def test_the_offline_model_calls_mcp_tools_with_no_credentials(
    mcp_server: McpProcess, tmp_path: Path
) -> None:
    entry = http_entry(mcp_server.url, extra="    tools: {allow: [add_note, list_notes]}\n")
    settings = Settings(
        provider="offline",
        offline_pace_s=0.0,
        data_dir=Path(tempfile.mkdtemp(prefix="agents-app-mcp-")),
        log_level="WARNING",
        config_path=write_config(tmp_path, entry),
    )
    events = await one_run(Engine.from_settings(settings), "Remember to water the plants")
    calls = of_type(events, "tool.call.completed")
    assert [(c["tool"], c["server"], c["error"]) for c in calls] == [
        ("add_note", "notes", None),
        ("list_notes", "notes", None),
    ]
    assert "water the plants" in calls[1]["output"]
    assert events[-1]["type"] == "run.completed"


async def test_header_secrets_reach_the_server_but_never_logs_or_events(
    srv: ScriptedOpenAIServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = "mcp-header-secret-4242"
    monkeypatch.setenv("MCP_TEST_TOKEN", token)
    configure_logging(level="DEBUG", fmt="json")
    extra = '    headers: {Authorization: "Bearer ${MCP_TEST_TOKEN}"}\n'
    guarded = McpProcess(token=token).start()
    config = write_config(tmp_path, http_entry(guarded.url, extra=extra))
    engine = Engine.from_settings(scripted_settings(srv, config))
    for _ in range(2):
        srv.enqueue(Reply([ToolCall("whoami")]), Reply([Text("Done.")]))
    try:
        async with live_server(engine) as live, live.connect() as ws:
            await ready(ws)
            await ws.send(json.dumps({"type": "user.message", "text": "who am I?"}))
            first = await recv_until(ws, is_terminal, wait_s=30)
            guarded.stop()  # the server goes away between two runs of one process
            await ws.send(json.dumps({"type": "user.message", "text": "and now?"}))
            second = await recv_until(ws, is_terminal, wait_s=30)
    finally:
        guarded.stop()
        await engine.aclose()
    (echoed,) = of_type(first, "tool.call.completed")
    # The server answers 401 without the header: an answer proves it was sent.
    assert echoed["error"] is None and echoed["output"] == "you sent: ***"
    (failed,) = of_type(second, "tool.call.completed")  # its tools as last listed
    assert failed["error"].startswith("MCP server 'notes' is unavailable: ")
    assert second[-1]["type"] == "run.completed"
    logs = capsys.readouterr().err
    assert '"server": "notes"' in logs and "mcp.unavailable" in logs  # which server, and why
    assert token not in json.dumps(first + second) and token not in logs


async def test_a_stdio_server_is_started_and_used(tmp_path: Path) -> None:
    entry = (
        "  notes:\n    transport: stdio\n    command: python\n"
        "    args: [-m, agents_app.mcp.demo_notes]\n    tools: {allow: [add_note, list_notes]}\n"
    )
    settings = Settings(
        provider="offline",
        offline_pace_s=0.0,
        data_dir=Path(tempfile.mkdtemp(prefix="agents-app-mcp-")),
        log_level="WARNING",
        config_path=write_config(tmp_path, entry),
    )
    events = await one_run(Engine.from_settings(settings), "Remember the stdio demo")
    calls = of_type(events, "tool.call.completed")
    assert [(c["tool"], c["server"], c["error"]) for c in calls] == [
        ("add_note", "notes", None),
        ("list_notes", "notes", None),
    ]
    assert "1. Remember the stdio demo" in calls[1]["output"]


async def test_per_tool_approval_rules_pause_mcp_calls_and_resume_them(
    srv: ScriptedOpenAIServer, mcp_server: McpProcess, tmp_path: Path
) -> None:
    # The agents.yaml approval language, on an MCP tool's argument.
    extra = "    approvals: {add_note: {argument: text, not_in: [harmless]}}\n"
    srv.enqueue(
        Reply([ToolCall("add_note", '{"text": "harmless"}', call_id="call_free")]),
        Reply([ToolCall("add_note", '{"text": "launch codes"}', call_id="call_held")]),
        Reply([Text("Saved both.")]),
    )
    config = write_config(tmp_path, http_entry(mcp_server.url, extra=extra))
    engine = Engine.from_settings(scripted_settings(srv, config))
    try:
        async with live_server(engine) as live, live.connect() as ws:
            await ready(ws)
            await ws.send(json.dumps({"type": "user.message", "text": "save them"}))
            paused = await recv_until(ws, is_terminal, wait_s=30)
            decision = {"call_id": "call_held", "approve": True}
            await ws.send(
                json.dumps(
                    {"type": "run.resume", "run_id": paused[-1]["run_id"], "decisions": [decision]}
                )
            )
            resumed = await recv_until(ws, is_terminal, wait_s=30)
    finally:
        await engine.aclose()
    (free,) = of_type(paused, "tool.call.completed")  # no approval needed: it just ran
    assert free["call_id"] == "call_free" and free["error"] is None
    (asked,) = of_type(paused, "approval.requested")
    assert (asked["call_id"], asked["tool"]) == ("call_held", "add_note")
    assert paused[-1]["type"] == "run.interrupted" and paused[-1]["pending"] == ["call_held"]
    (held,) = of_type(resumed, "tool.call.completed")
    assert held["call_id"] == "call_held" and held["server"] == "notes" and held["error"] is None
    assert held["output"].endswith(": launch codes")
    assert resumed[-1]["type"] == "run.completed"
