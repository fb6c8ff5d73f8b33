"""MCP servers' lifecycle against real servers on 127.0.0.1: discovery, filtering, calls,
and every way a server lets a run down (down at start, dying mid-call, slow)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agents_app.config import load_config
from agents_app.config.tool_specs import McpServerSpec
from agents_app.engine import Engine
from agents_app.mcp.build import build_client
from agents_app.mcp.managed import ManagedServer, McpUnavailable
from agents_app.mcp.registry import McpServers
from agents_app.protocol.encoders import encode_pretty
from agents_app.protocol.events import ToolCallStarted
from agents_app.server.app import create_app
from agents_app.server.in_loop import serving
from tests.conftest import offline_settings
from tests.mcp_helpers import McpProcess, free_port, http_entry, write_config


def spec(url: str, **fields: object) -> McpServerSpec:
    return McpServerSpec.model_validate(
        {"transport": "streamable_http", "url": url, "timeout": 5, **fields}
    )


@pytest.fixture(scope="module")
def mcp_server() -> McpProcess:
    with McpProcess() as server:
        yield server


async def test_tools_are_discovered_and_called(mcp_server: McpProcess) -> None:
    server = ManagedServer("notes", spec(mcp_server.url))
    try:
        tools = await server.list_tools()
        assert {"add_note", "list_notes", "delete_note", "slow", "fail", "die"} <= {
            t.name for t in tools
        }
        result = await server.call_tool("add_note", {"text": "buy milk"})
        assert not result.is_error
        assert "buy milk" in result.content[0].text  # type: ignore[union-attr]
    finally:
        await server.cleanup()


async def test_allow_and_deny_lists_filter_the_tools(mcp_server: McpProcess) -> None:
    allowed = ManagedServer("notes", spec(mcp_server.url, tools={"allow": ["add_note", "die"]}))
    denied = ManagedServer("notes", spec(mcp_server.url, tools={"deny": ["die", "slow"]}))
    try:
        assert [t.name for t in await allowed.list_tools()] == ["add_note", "die"]
        names = {t.name for t in await denied.list_tools()}
        assert "die" not in names and "slow" not in names and "add_note" in names
    finally:
        await allowed.cleanup()
        await denied.cleanup()


async def test_a_server_down_at_start_offers_its_allow_list_and_comes_back() -> None:
    port = free_port()
    server = ManagedServer(
        "notes", spec(f"http://127.0.0.1:{port}/mcp", tools={"allow": ["add_note"]})
    )
    try:
        await server.connect()  # warm-up: logged, not raised
        assert not server.connected and server.last_error
        stand_ins = await server.list_tools()
        assert [t.name for t in stand_ins] == ["add_note"]
        with pytest.raises(McpUnavailable, match="MCP server 'notes' is unavailable"):
            await server.call_tool("add_note", {"text": "x"})
        with McpProcess(port=port):
            await asyncio.sleep(0.6)  # past the first back-off
            result = await server.call_tool("add_note", {"text": "back"})
            assert not result.is_error and server.connected
    finally:
        await server.cleanup()


async def test_a_server_that_dies_mid_call_is_an_error_then_reconnects() -> None:
    port = free_port()
    server = ManagedServer("notes", spec(f"http://127.0.0.1:{port}/mcp"))
    try:
        with McpProcess(port=port):
            await server.list_tools()
            with pytest.raises(McpUnavailable, match="lost during die"):
                await asyncio.wait_for(server.call_tool("die", {}), 10)
            assert not server.connected
        with McpProcess(port=port):
            await asyncio.sleep(0.6)
            result = await server.call_tool("list_notes", {})
            assert result.content[0].text == "No notes yet."  # type: ignore[union-attr]
    finally:
        await server.cleanup()


async def test_a_slow_tool_times_out_and_the_session_stays(mcp_server: McpProcess) -> None:
    server = ManagedServer("notes", spec(mcp_server.url, timeout=0.5))
    try:
        await server.list_tools()
        with pytest.raises(McpUnavailable, match=r"did not answer slow within 0\.5 s"):
            await asyncio.wait_for(server.call_tool("slow", {"seconds": 5}), 10)
        result = await server.call_tool("list_notes", {})
        assert not result.is_error and server.connected
    finally:
        await server.cleanup()


async def test_the_registry_keeps_unchanged_servers_across_reloads(
    mcp_server: McpProcess, tmp_path: Path
) -> None:
    registry = McpServers()
    first = load_config(write_config(tmp_path, http_entry(mcp_server.url)), tool_names=())
    changed = load_config(
        write_config(tmp_path, http_entry(mcp_server.url, timeout=7)), tool_names=()
    )
    try:
        a = registry.server("notes", first.mcp_servers["notes"])
        assert registry.server("notes", first.mcp_servers["notes"]) is a
        b = registry.server("notes", changed.mcp_servers["notes"])
        assert b is not a
        await a.list_tools()
        await registry.aclose()
        assert not a.connected
        with pytest.raises(McpUnavailable, match="closed"):
            await a.call_tool("list_notes", {})
    finally:
        await registry.aclose()


async def test_the_server_connects_at_start_up_and_closes_at_shutdown(
    mcp_server: McpProcess, tmp_path: Path
) -> None:
    entries = http_entry(mcp_server.url) + http_entry(
        f"http://127.0.0.1:{free_port()}/mcp", name="down"
    )
    config = write_config(tmp_path, entries, agent_mcp="[notes, down]")
    engine = Engine.from_settings(offline_settings(config_path=config))
    notes, down = engine.mcp.current["notes"], engine.mcp.current["down"]
    async with serving(create_app(engine), lifespan="on"):
        async with asyncio.timeout(10):  # no run has started: the lifespan dialled them
            while not (notes.connected and down.last_error):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        assert "Could not reach the server" in (down.last_error or "")
    assert not notes.connected  # closed with the service
    with pytest.raises(McpUnavailable, match="closed"):
        await notes.call_tool("list_notes", {})


def test_credential_headers_and_environment_values_are_secrets_other_headers_not() -> None:
    built = build_client(
        "notes",
        spec(
            "http://127.0.0.1:1/mcp?key=${URL_KEY}",
            headers={
                "Authorization": "Bearer literal-token-1",
                "Accept": "application/json",
                "X-Tenant": "${TENANT}",
            },
        ),
        environ={"URL_KEY": "url-key-secret", "TENANT": "tenant-from-env"},
    )
    assert set(built.secrets) == {"url-key-secret", "tenant-from-env", "Bearer literal-token-1"}


def test_pretty_output_names_the_mcp_server() -> None:
    event = ToolCallStarted(
        run_id="r",
        conversation_id="c",
        call_id="x",
        agent="a",
        tool="add_note",
        arguments={},
        server="notes",
    )
    assert encode_pretty(event) == "⚙ add_note() [mcp: notes]\n"
