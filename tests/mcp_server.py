"""A real MCP server for the tests, run as a child process on 127.0.0.1 (streamable HTTP).

The demo notes tools plus a few that misbehave on purpose: `slow` (sleeps), `fail` (an
isError result), `die` (the process exits mid-call), `whoami` (echoes the
Authorization header, as a careless server might). With `--token`, every request must
carry `Authorization: Bearer <token>` (401 otherwise), so a test can tell the header
reached the server. A child process, not a thread, so a test can kill it like a crash.

    python -m tests.mcp_server --port 8765 [--token SECRET]
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

import uvicorn
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from agents_app.mcp.demo_notes import build_server


class RequireToken:
    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and dict(scope["headers"]).get(b"authorization") != self.expected
        ):
            await PlainTextResponse("unauthorized", status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def build_app(token: str | None) -> Any:
    server = build_server()

    @server.tool()
    async def slow(seconds: float = 5) -> str:
        """Answers after `seconds`."""
        await asyncio.sleep(seconds)
        return f"slept {seconds} s"

    @server.tool()
    def fail() -> str:
        """Always fails, as a tool result flagged isError."""
        raise ToolError("the frobnicator is out of order")

    @server.tool()
    def die() -> str:
        """The server process exits while answering."""
        os._exit(3)

    @server.tool()
    def whoami(ctx: Context) -> str:
        """Echoes the Authorization header it received (a careless server leaking it)."""
        request = ctx.request_context.request
        headers = getattr(request, "headers", {})
        return f"you sent: {headers.get('authorization', 'nothing')}"

    app = server.streamable_http_app()
    return RequireToken(app, token) if token else app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token")
    options = parser.parse_args()
    uvicorn.run(build_app(options.token), host="127.0.0.1", port=options.port, log_level="warning")


if __name__ == "__main__":
    main()
