"""MCP tool failures → the run's `tool.call.completed.error`, and a readable reply for the model.

The SDK turns an MCP call that raises into a tool output through the server's
`failure_error_function`, and hands a result the server flagged `isError` back as ordinary
output. Both are failures to a client watching the run, so both are recorded on the turn's
context (the translator reads it by call id), scrubbed of secrets first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import structlog
from agents import RunContextWrapper
from agents.mcp import MCPToolCustomDataContext
from agents.tool_context import ToolContext

from agents_app.secrets import SECRETS

log = structlog.get_logger("agents_app.mcp")
# An error text quoted from a server is for a person to read at a glance, not a transcript.
MAX_ERROR_CHARS = 500


@runtime_checkable
class ToolErrorSink(Protocol):
    """The turn context (`agents_app.engine.TurnContext`), as this package needs it."""

    def record_tool_error(self, call_id: str, detail: str) -> None: ...


def _record(context: Any, detail: str) -> None:
    if isinstance(context, ToolContext) and isinstance(context.context, ToolErrorSink):
        context.context.record_tool_error(context.tool_call_id, detail)


def failure_reply(server: str) -> Callable[[RunContextWrapper[Any], Exception], str]:
    """The server's `failure_error_function`: record the failure, tell the model why."""

    def reply(context: RunContextWrapper[Any], error: Exception) -> str:
        # Ours (McpUnavailable) and the SDK's (UserError, MCPError) name the server and the
        # tool and carry no URL credentials; header values are scrubbed all the same.
        detail = SECRETS.scrub(str(error) or type(error).__name__)[:MAX_ERROR_CHARS]
        log.warning("mcp.call_failed", server=server, error=type(error).__name__, detail=detail)
        _record(context, detail)
        return f"Error: {detail}"

    return reply


def record_error_result(context: MCPToolCustomDataContext) -> dict[str, Any] | None:
    """The servers' `custom_data_extractor`: a result flagged `isError` is the call's error."""
    if context.is_error:
        output = context.tool_output
        text = output.get("text") if isinstance(output, dict) else None
        detail = text if isinstance(text, str) else str(output)
        _record(context.run_context, SECRETS.scrub(detail)[:MAX_ERROR_CHARS] or "error")
    return None
