"""The fault suite: every failure ends its run with exactly one terminal event of the right
code, nothing hangs, no run task is left behind, and the connection serves the next message."""

from __future__ import annotations

import asyncio
import json
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agents import FunctionTool, function_tool

from agents_app.config import load_config
from agents_app.engine import Engine, observed
from agents_app.graph import build_graph
from agents_app.models.providers import build_backend
from agents_app.settings import Settings
from agents_app.testing import (
    BreakStream,
    Fail,
    Malformed,
    Reply,
    ScriptedOpenAIServer,
    Stall,
    Step,
    Text,
    ToolCall,
)
from tests.conftest import is_terminal, live_server, recv_json, recv_until

TERMINALS = {"run.completed", "run.failed", "run.cancelled"}


def settings_for(base_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "provider": "openai",
        "api_key": "sk-fault-suite",
        "base_url": base_url,
        "model_max_retries": 0,
        "model_timeout_s": 5.0,
        "data_dir": Path(tempfile.mkdtemp(prefix="agents-app-faults-")),
        "log_level": "WARNING",
    }
    return Settings(**(values | overrides))


async def run_and_recover(
    engine: Engine, after: Callable[[], None] | None = None
) -> list[dict[str, Any]]:
    """One failing run on a connection, then a good one on the same connection."""
    async with live_server(engine) as live, live.connect() as ws:
        await recv_json(ws)  # session.ready
        await ws.send(json.dumps({"type": "user.message", "text": "go", "agent": "joker"}))
        events = await recv_until(ws, is_terminal, wait_s=20)
        await asyncio.sleep(0.05)
        assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("run:")]
        if after is not None:
            after()
        await ws.send('{"type":"ping"}')
        assert await recv_json(ws) == {"type": "pong"}
        await ws.send(json.dumps({"type": "user.message", "text": "again", "agent": "joker"}))
        recovered = await recv_until(ws, is_terminal, wait_s=20)
        assert recovered[-1]["type"] == "run.completed", recovered[-1]
    run = [e for e in events if "run_id" in e]
    assert sum(e["type"] in TERMINALS for e in run) == 1 and run[-1]["type"] in TERMINALS
    assert [e["seq"] for e in run] == list(range(1, len(run) + 1))
    return run


GOOD = Reply([Text("All good now.")])


@pytest.mark.parametrize(
    ("steps", "retries", "code", "retryable", "requests"),
    [
        # Retries are the openai client's own, honouring Retry-After.
        ([Fail(429, headers={"retry-after": "0"})] * 3, 2, "rate_limited", True, 3),
        ([Fail(500)] * 2, 1, "model_error", True, 2),
        ([Fail(400)], 2, "model_error", False, 1),
        ([BreakStream(after_events=3)], 0, "model_error", True, 1),
        ([Malformed("{not json", after_events=2)], 0, "model_error", True, 1),
    ],
    ids=["429-retry-after", "500", "400", "broken-sse", "malformed-chunk"],
)
async def test_model_failures(
    srv: ScriptedOpenAIServer,
    steps: list[Step],
    retries: int,
    code: str,
    retryable: bool,
    requests: int,
) -> None:
    srv.enqueue(*steps, GOOD)
    engine = Engine.from_settings(settings_for(srv.base_url, model_max_retries=retries))
    run = await run_and_recover(engine)
    assert (run[-1]["type"], run[-1]["code"], run[-1]["retryable"]) == (
        "run.failed",
        code,
        retryable,
    )
    assert len(srv.requests) == requests + 1  # the failing run's attempts, then the good run


async def test_stall_past_the_read_timeout(srv: ScriptedOpenAIServer) -> None:
    srv.enqueue(Stall(seconds=3), GOOD)
    engine = Engine.from_settings(settings_for(srv.base_url, model_timeout_s=0.5))
    run = await run_and_recover(engine)
    assert (run[-1]["code"], run[-1]["retryable"]) == ("timeout", True)


async def test_refused_connection(srv: ScriptedOpenAIServer) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    engine = Engine.from_settings(settings_for(dead))
    srv.enqueue(GOOD)

    def point_at_the_live_server() -> None:
        engine.backend = build_backend(settings_for(srv.base_url))

    run = await run_and_recover(engine, after=point_at_the_live_server)
    assert (run[-1]["code"], run[-1]["retryable"]) == ("model_error", True)
    assert "cannot be reached" in run[-1]["message"]


async def test_unknown_tool_is_read_by_the_model(srv: ScriptedOpenAIServer) -> None:
    srv.enqueue(Reply([ToolCall("launch_rockets")]), Reply([Text("Sorry, no such tool.")]), GOOD)
    run = await run_and_recover(Engine.from_settings(settings_for(srv.base_url)))
    done = next(e for e in run if e["type"] == "tool.call.completed")
    assert done["tool"] == "launch_rockets" and done["error"]
    assert run[-1]["type"] == "run.completed"


def engine_with_tool(srv: ScriptedOpenAIServer, tool: FunctionTool, tmp: Path) -> Engine:
    config_path = tmp / "agents.yaml"
    config_path.write_text(
        "version: 1\nstart: joker\nagents:\n  joker:\n    name: Joker\n"
        f"    instructions: use the tool\n    tools: [{tool.name}]\n"
    )
    settings = settings_for(srv.base_url, config_path=config_path)
    config = load_config(config_path, tool_names={tool.name})
    graph = build_graph(config, get_tool=lambda _: observed(tool))
    return Engine(settings, graph, build_backend(settings))


async def test_tool_that_raises(srv: ScriptedOpenAIServer, tmp_path: Path) -> None:
    @function_tool
    def broken() -> str:
        """Always fails."""
        raise ValueError("disk on fire")

    srv.enqueue(Reply([ToolCall("broken")]), Reply([Text("The tool failed.")]), GOOD)
    run = await run_and_recover(engine_with_tool(srv, broken, tmp_path))
    done = next(e for e in run if e["type"] == "tool.call.completed")
    assert done["error"] and run[-1]["type"] == "run.completed"


async def test_tool_that_times_out(srv: ScriptedOpenAIServer, tmp_path: Path) -> None:
    @function_tool(timeout=0.2)
    async def sleepy() -> str:
        """Never answers in time."""
        await asyncio.sleep(30)
        return "late"

    srv.enqueue(Reply([ToolCall("sleepy")]), Reply([Text("It timed out.")]), GOOD)
    run = await run_and_recover(engine_with_tool(srv, sleepy, tmp_path))
    done = next(e for e in run if e["type"] == "tool.call.completed")
    assert "timed out" in done["output"].lower() and run[-1]["type"] == "run.completed"
    assert done["error"] == done["output"]
    assert done["duration_ms"] < 5000
