"""`agents-app tools`: connect to each configured MCP server (bounded in time) and list what
its agents would get, or say exactly why a server cannot be reached."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from agents_app.config import AgentsConfig
from agents_app.mcp.registry import McpServers


@dataclass(frozen=True)
class ServerTools:
    name: str
    transport: str
    used_by: tuple[str, ...]
    tools: tuple[tuple[str, str], ...]  # (name, first line of its description)
    error: str | None  # why it could not be listed; None when it was


async def list_mcp_tools(config: AgentsConfig, *, timeout_s: float) -> list[ServerTools]:
    """Every server of `config`, each given at most `timeout_s` to connect and answer."""
    registry = McpServers()
    servers = {
        name: registry.server(
            name, spec.model_copy(update={"timeout": min(spec.timeout, timeout_s)})
        )
        for name, spec in config.mcp_servers.items()
    }
    try:
        await asyncio.gather(*(server.connect() for server in servers.values()))
    finally:
        await registry.aclose()
    found: list[ServerTools] = []
    for name, server in servers.items():
        listed = server.tools or []
        found.append(
            ServerTools(
                name=name,
                transport=server.spec.transport,
                used_by=tuple(a for a, spec in config.agents.items() if name in spec.mcp),
                tools=tuple(
                    (tool.name, (tool.description or "").strip().split("\n")[0]) for tool in listed
                ),
                error=None if server.tools is not None else server.last_error or "no answer",
            )
        )
    return found
