"""The process's MCP servers, by name: what graphs hand to agents, what shutdown closes.

Held by the engine, so a local server shares one connection per MCP server across all its
runs and a function instance keeps its connections between invocations. A config reload
keeps the connection of every server whose entry did not change; a changed or removed
entry gets a fresh server, and the old one is closed once no graph can use it any more
(at shutdown: runs still going keep the graph, and so the server, they started with).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

import structlog

from agents_app.config.tool_specs import McpServerSpec
from agents_app.mcp.managed import ManagedServer

log = structlog.get_logger("agents_app.mcp")


class McpServers:
    def __init__(
        self, *, allow_stdio: bool = True, environ: Mapping[str, str] | None = None
    ) -> None:
        self._allow_stdio = allow_stdio
        self._environ = environ
        self._current: dict[str, ManagedServer] = {}
        self._retired: list[ManagedServer] = []

    def server(self, name: str, spec: McpServerSpec) -> ManagedServer:
        """The server for this entry: the running one if its entry is unchanged."""
        existing = self._current.get(name)
        if existing is not None and existing.spec == spec:
            return existing
        if existing is not None:
            self._retired.append(existing)
        server = ManagedServer(name, spec, allow_stdio=self._allow_stdio, environ=self._environ)
        self._current[name] = server
        return server

    def servers(self, specs: Mapping[str, McpServerSpec]) -> dict[str, ManagedServer]:
        return {name: self.server(name, spec) for name, spec in specs.items()}

    @property
    def current(self) -> dict[str, ManagedServer]:
        return dict(self._current)

    async def connect(self, names: Iterable[str] | None = None) -> None:
        """Connect these (default: all) at once; each failure is logged, none is raised."""
        chosen = [s for n, s in self._current.items() if names is None or n in set(names)]
        await asyncio.gather(*(server.connect() for server in chosen))

    async def aclose(self) -> None:
        servers = [*self._current.values(), *self._retired]
        self._current, self._retired = {}, []
        await asyncio.gather(*(server.cleanup() for server in servers), return_exceptions=True)
