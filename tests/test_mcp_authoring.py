"""MCP servers where prompt authors look: `agents-app tools` (connecting, with a timeout)
and the graph (Mermaid, the HTML page, GET /graph with the live tools and status)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agents_app.authoring.mermaid import GraphShape, to_mermaid
from agents_app.config import load_config
from agents_app.engine import Engine
from agents_app.settings import Settings
from tests.conftest import live_server
from tests.mcp_helpers import PROJECT, McpProcess, free_port, http_entry, write_config
from tests.test_cli import agents_app


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[McpProcess]:
    with McpProcess() as server:
        yield server


def test_tools_lists_each_servers_tools_after_the_allow_and_deny_lists(
    mcp_server: McpProcess, tmp_path: Path
) -> None:
    entry = http_entry(mcp_server.url, extra="    tools: {deny: [die, slow, whoami]}\n")
    result = agents_app("tools", str(write_config(tmp_path, entry)))
    assert result.returncode == 0, result.stderr
    assert "how_many_jokes" in result.stdout  # the Python tools first, as before
    section = result.stdout.split("MCP server notes (streamable_http; used by helper):\n")[1]
    listed = [line.split()[0] for line in section.splitlines() if line.strip()]
    assert listed == ["add_note", "list_notes", "delete_note", "fail"]
    assert "Save a short note; returns its number." in section


def test_tools_says_why_a_server_cannot_be_listed_within_the_timeout(tmp_path: Path) -> None:
    entry = http_entry(f"http://127.0.0.1:{free_port()}/mcp")
    result = agents_app("tools", str(write_config(tmp_path, entry)), "--timeout", "2")
    assert result.returncode == 1
    assert (
        "MCP server notes (streamable_http; used by helper):\n  unavailable: Failed to connect "
        "to MCP server 'notes': Could not reach the server." in result.stdout
    )


def test_the_mermaid_graph_draws_servers_and_their_allowed_tools(tmp_path: Path) -> None:
    entry = http_entry(
        "http://127.0.0.1:1/mcp", extra="    tools: {allow: [add_note, list_notes]}\n"
    )
    config = load_config(write_config(tmp_path, entry), tool_names=())
    mermaid = to_mermaid(GraphShape.of(config))
    assert '  mcp_notes[("notes (MCP)<br/>add_note, list_notes")]' in mermaid
    assert "  agent_helper -.->|mcp| mcp_notes" in mermaid


async def test_the_servers_graph_page_shows_live_tools_and_status(
    mcp_server: McpProcess, tmp_path: Path
) -> None:
    entry = http_entry(mcp_server.url, extra="    tools: {deny: [die, slow, whoami, fail]}\n")
    settings = Settings(
        provider="offline",
        data_dir=Path(tempfile.mkdtemp(prefix="agents-app-mcp-")),
        log_level="WARNING",
        config_path=write_config(tmp_path, entry),
    )
    engine = Engine.from_settings(settings)
    try:
        await engine.mcp.connect()
        async with live_server(engine) as server:
            base = server.url.replace("ws://", "http://")
            async with httpx.AsyncClient(base_url=base) as client:
                page = (await client.get("/graph")).text
                text = (await client.get("/graph", params={"format": "mermaid"})).text
    finally:
        await engine.aclose()
    assert "<h2>MCP servers</h2>" in page
    assert "<td>add_note, list_notes, delete_note</td><td>connected</td>" in page
    assert "mcp: notes (3 tools)" in page  # the pill on the agent in the drawing
    assert 'mcp_notes[("notes (MCP)<br/>add_note, list_notes, delete_note")]' in text


def test_the_shipped_example_calls_the_demo_server_with_the_offline_model(
    tmp_path: Path,
) -> None:
    example = PROJECT / "config" / "examples" / "mcp.yaml"
    validated = agents_app("validate", "--strict", str(example))
    assert validated.returncode == 0, validated.stderr
    env = {"AGENTS_CONFIG": str(example), "AGENTS_DATA_DIR": str(tmp_path)}
    result = agents_app("chat", "Remember to buy milk", "-f", "json", **env)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    calls = [e for e in events if e["type"] == "tool.call.completed"]
    assert [(c["agent"], c["tool"], c["server"], c["error"]) for c in calls] == [
        ("note_keeper", "add_note", "notes", None),
        ("note_keeper", "list_notes", "notes", None),
    ]
    assert calls[1]["output"] == "1. Remember to buy milk"
    assert events[-1]["type"] == "run.completed"
