"""``GET /graph``: the graph the server is running now (after any hot reload), for review.

Behind the auth token when one is set: agent instructions and tool names are the operator's
business. The config path is shown relative to the project, never where the server lives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from agents_app.access import token_matches
from agents_app.authoring.graph_page import graph_page
from agents_app.authoring.mermaid import GraphShape, McpView, to_mermaid
from agents_app.engine import Engine

PROJECT = Path(__file__).resolve().parents[2]


def shown_path(path: Path) -> str:
    """``config/agents.yaml`` for a file in the project, else the file's name alone."""
    resolved = path.resolve()
    if resolved.is_relative_to(PROJECT):
        return resolved.relative_to(PROJECT).as_posix()
    return resolved.name


def graph_endpoint(engine: Engine) -> Callable[[Request], Awaitable[Response]]:
    token = engine.settings.auth_token
    expected = token.get_secret_value() if token else None

    async def graph(request: Request) -> Response:
        if not token_matches(expected, request.headers, request.query_params):
            return PlainTextResponse("A valid token is required.", status_code=401)
        config = engine.graph.config  # read once: a reload may swap it while we render
        live = {
            name: McpView.of(server.spec, server.tool_names, server.status)
            for name, server in engine.mcp.current.items()
            if name in config.mcp_servers and server.spec == config.mcp_servers[name]
        }
        shape = GraphShape.of(config, live)
        source = shown_path(config.source)
        mermaid = to_mermaid(shape, title=source)
        headers = {"Cache-Control": "no-cache"}
        if request.query_params.get("format") == "mermaid":
            return PlainTextResponse(mermaid, headers=headers)
        link = {"format": "mermaid"}
        if "token" in request.query_params:
            # Whoever opened the page with ?token= follows its link the same way.
            link["token"] = request.query_params["token"]
        page = graph_page(shape, source=source, mermaid=mermaid, mermaid_href=f"?{urlencode(link)}")
        return HTMLResponse(page, headers=headers)

    return graph
