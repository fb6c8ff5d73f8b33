"""One MCP server for the life of the process: connected once, reused, reconnected, closed.

The SDK's clients (`MCPServerStreamableHttp`, `MCPServerStdio`) speak the protocol; this
wrapper, itself an SDK `MCPServer` that agents list in `mcp_servers`, owns the lifecycle the
SDK leaves to the application:

- it connects on first use (or at start-up) and keeps the session for every later run;
- a server that cannot be reached does not fail the run: the agent still gets the tools it
  had (or the allow list, if it never had any), and calling one is a tool error that names
  the server and the reason; redialling waits a growing while (0.5 s … 30 s) so a dead
  server does not cost every turn its connect timeout;
- a session that drops (server restarted or died mid-call) is discarded and redialled on
  the next use. A call that was in flight is not repeated: it may have taken effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from agents import AgentBase, RunContextWrapper
from agents.exceptions import UserError
from agents.mcp import MCPServer
from agents.mcp.server import _MCPServerWithClientSession
from mcp import Tool as MCPTool
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, GetPromptResult, ListPromptsResult
from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

from agents_app.approvals import policy
from agents_app.config.env_refs import MissingEnv
from agents_app.config.tool_specs import McpServerSpec
from agents_app.mcp.build import NotHere, build_client
from agents_app.mcp.errors import failure_reply, record_error_result
from agents_app.secrets import SECRETS

log = structlog.get_logger("agents_app.mcp")
FIRST_RETRY_S, MAX_RETRY_S = 0.5, 30.0
# What a tool looks like to the model before its server ever answered: no schema known, so
# any object; the call then reports why the server is unavailable.
_OPEN_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": True}

NeedsApproval = bool | Callable[[RunContextWrapper[Any], dict[str, Any], str], Awaitable[bool]]


class McpUnavailable(UserError):
    """The call could not be made or finished; the message is safe for clients to read.

    A `UserError` so the SDK passes it to the failure function as it is (anything else
    it wraps in a message of its own).
    """


class ManagedServer(MCPServer):
    def __init__(
        self,
        name: str,
        spec: McpServerSpec,
        *,
        allow_stdio: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            failure_error_function=failure_reply(name),
            custom_data_extractor=record_error_result,
        )
        self._name = name
        self.spec = spec
        self._allow_stdio = allow_stdio
        self._environ = environ
        self._client: _MCPServerWithClientSession | None = None
        self._lock = asyncio.Lock()
        self._failures = 0
        self._retry_at = 0.0
        self._closed = False
        self.last_error: str | None = None
        self.tools: list[MCPTool] | None = None  # as last listed (after allow / deny)

    @property
    def name(self) -> str:
        return self._name

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.session is not None

    @property
    def status(self) -> str:
        """For people (the /graph page): connected, or why not."""
        if self.connected:
            return "connected"
        if self.last_error:
            return f"unavailable: {self.last_error}"
        return "not connected yet (connects on first use)"

    @property
    def tool_names(self) -> tuple[str, ...]:
        """What its agents are offered now: the last listing, else the allow list."""
        return tuple(tool.name for tool in self.tools or self._stand_ins())

    # -- lifecycle -----------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect now (start-up warm-up); a failure is logged and remembered, not raised."""
        with contextlib.suppress(McpUnavailable):
            await self._session(redial_now=True)
            await self.list_tools()

    async def cleanup(self) -> None:
        """Close for good (at shutdown: the registry closes every server it handed out)."""
        self._closed = True
        await self._drop()

    async def _session(self, *, redial_now: bool = False) -> _MCPServerWithClientSession:
        client = self._client
        if client is not None and client.session is not None:
            return client
        async with self._lock:  # one dial at a time; the others use its outcome
            client = self._client
            if client is not None and client.session is not None:
                return client
            if self._closed:
                raise McpUnavailable(f"MCP server {self._name!r} is closed")
            if not redial_now and time.monotonic() < self._retry_at:
                raise McpUnavailable(self._unavailable())
            return await self._dial()

    async def _dial(self) -> _MCPServerWithClientSession:
        try:
            built = build_client(
                self._name, self.spec, environ=self._environ, allow_stdio=self._allow_stdio
            )
        except (MissingEnv, NotHere, ValueError) as exc:
            self._failed(str(exc))
            raise McpUnavailable(self._unavailable()) from None
        SECRETS.add(built.secrets)
        try:
            async with asyncio.timeout(self.spec.timeout):
                await built.client.connect()  # type: ignore[no-untyped-call]  # SDK: untyped
        except TimeoutError:
            self._failed(f"no answer within {self.spec.timeout:g} s")
        except Exception as exc:
            # The SDK's messages name the server and the cause, without URL credentials.
            self._failed(SECRETS.scrub(str(exc) or type(exc).__name__))
        else:
            if self._failures:
                log.info("mcp.reconnected", server=self._name, after_failures=self._failures)
            else:
                log.info("mcp.connected", server=self._name, transport=self.spec.transport)
            self._client, self._failures, self.last_error = built.client, 0, None
            return built.client
        with contextlib.suppress(Exception):
            await built.client.cleanup()  # type: ignore[no-untyped-call]
        raise McpUnavailable(self._unavailable())

    def _failed(self, reason: str) -> None:
        self._failures += 1
        delay = min(MAX_RETRY_S, FIRST_RETRY_S * 2 ** (self._failures - 1))
        self._retry_at = time.monotonic() + delay
        self.last_error = reason
        log.warning("mcp.unavailable", server=self._name, reason=reason, retry_in_s=delay)

    def _unavailable(self) -> str:
        return f"MCP server {self._name!r} is unavailable: {self.last_error or 'not connected'}"

    async def _drop(self, reason: str | None = None) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if reason is not None:
            self.last_error = reason
            log.warning("mcp.disconnected", server=self._name, reason=reason)
        with contextlib.suppress(Exception):
            await client.cleanup()  # type: ignore[no-untyped-call]

    # -- what agents use -------------------------------------------------------------------

    async def list_tools(
        self,
        run_context: RunContextWrapper[Any] | None = None,
        agent: AgentBase | None = None,
    ) -> list[MCPTool]:
        try:
            client = await self._session()
            try:
                tools = await client.list_tools(run_context, agent)
            except Exception as exc:
                # Most often a session the server forgot (restart) or a dead peer: one
                # fresh session, then the fallback.
                await self._drop(f"listing tools failed ({type(exc).__name__})")
                client = await self._session(redial_now=True)
                tools = await client.list_tools(run_context, agent)
        except McpUnavailable:
            return self.tools if self.tools is not None else self._stand_ins()
        except Exception as exc:
            await self._drop(f"listing tools failed ({type(exc).__name__})")
            return self.tools if self.tools is not None else self._stand_ins()
        self.tools = tools
        return tools

    def _stand_ins(self) -> list[MCPTool]:
        allow = self.spec.tools.allow or ()
        return [
            MCPTool(
                name=name,
                description=f"A tool of the MCP server {self._name!r} (not reachable yet).",
                input_schema=dict(_OPEN_SCHEMA),
            )
            for name in allow
            if name not in self.spec.tools.deny
        ]

    async def call_tool(
        self,
        tool_name: str,
        arguments: dict[str, Any] | None,
        meta: dict[str, Any] | None = None,
    ) -> CallToolResult:
        client = await self._session()
        where = f"MCP server {self._name!r}"
        try:
            return await client.call_tool(tool_name, arguments, meta)
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                raise McpUnavailable(
                    f"{where} did not answer {tool_name} within {self.spec.timeout:g} s"
                ) from None
            if exc.code != CONNECTION_CLOSED:
                raise  # the server's own answer (unknown tool, bad arguments…)
            await self._drop(f"connection closed during {tool_name}")
        except UserError as exc:
            # The SDK's transport errors (connection lost, HTTP 5xx, timeouts).
            await self._drop(SECRETS.scrub(str(exc)))
            raise McpUnavailable(SECRETS.scrub(str(exc))) from None
        except (OSError, EOFError) as exc:
            await self._drop(type(exc).__name__)
        raise McpUnavailable(
            f"the connection to {where} was lost during {tool_name}; the next call reconnects"
        )

    async def list_prompts(self) -> ListPromptsResult:
        return await (await self._session()).list_prompts()

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None
    ) -> GetPromptResult:
        return await (await self._session()).get_prompt(name, arguments)

    def _get_needs_approval_for_tool(self, tool: MCPTool, agent: AgentBase | None) -> NeedsApproval:
        # Our approval rules (`always`, or a rule on one argument), not the SDK's
        # argument-blind require_approval: the same language as an agent's `approvals`.
        rule = self.spec.approvals.get(tool.name)
        return False if rule is None else policy(rule)
