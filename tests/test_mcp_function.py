"""MCP tools on the deployed code path: WebSocket → emulated API Gateway → function.handler.
A warm instance connects to its MCP server once and keeps the connection between
invocations; stdio servers, local-only, are refused there with a reason."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from agents_app.cloud.runtime import get_runtime, reset_runtime
from agents_app.config.tool_specs import McpServerSpec
from agents_app.gateway.serve import RunningGateway, load_handler, running_gateway
from agents_app.mcp.managed import ManagedServer, McpUnavailable
from tests.conftest import assert_whole_run, is_terminal, recv_until
from tests.mcp_helpers import McpProcess, http_entry, write_config


@pytest.fixture
def mcp_server() -> Iterator[McpProcess]:
    with McpProcess() as server:
        yield server


@pytest.fixture
async def gateway(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mcp_server: McpProcess
) -> AsyncIterator[RunningGateway]:
    entry = http_entry(mcp_server.url, extra="    tools: {allow: [add_note, list_notes]}\n")
    env = {
        "AGENTS_DATA_DIR": str(tmp_path),
        "AGENTS_PROVIDER": "offline",
        "AGENTS_OFFLINE_PACE": "0",
        "LOG_LEVEL": "WARNING",
        "AGENTS_CONFIG": str(write_config(tmp_path, entry)),
        "AGENTS_CONNECTIONS_ENDPOINT": "unset",
        "AGENTS_CONNECTIONS_INSECURE": "true",
    }
    for name in ("API_KEY", "FOLDER_ID", "BASE_URL", "MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_runtime()
    async with running_gateway(load_handler(), port=0) as running:
        yield running
    reset_runtime()


def calls(events: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    return [
        (e["tool"], e["server"], e["error"]) for e in events if e["type"] == "tool.call.completed"
    ]


async def test_one_connection_serves_two_invocations(gateway: RunningGateway) -> None:
    async with connect(gateway.url, open_timeout=5, max_size=None) as ws:
        await ws.send("Remember the first thing")
        first = await recv_until(ws, is_terminal, wait_s=30)
        notes = get_runtime().engine.mcp.current["notes"]
        session = notes._client
        assert session is not None and notes.connected
        await ws.send("Remember the second thing")
        second = await recv_until(ws, is_terminal, wait_s=30)
    for run in (first, second):
        assert_whole_run(run)
        assert calls(run) == [("add_note", "notes", None), ("list_notes", "notes", None)]
        assert run[-1]["type"] == "run.completed"
    # Same client object, still connected: the second invocation did not dial again.
    assert notes._client is session and notes.connected
    listed = next(
        e for e in second if e["type"] == "tool.call.completed" and e["tool"] == "list_notes"
    )
    assert "1. Remember the first thing\n2. Remember the second thing" in listed["output"]


async def test_stdio_servers_are_refused_in_the_function() -> None:
    spec = McpServerSpec(transport="stdio", command="python", args=("-m", "x"))
    server = ManagedServer("local", spec, allow_stdio=False)
    with pytest.raises(McpUnavailable, match="stdio servers run only locally"):
        await server.call_tool("anything", {})
