"""``GET /graph``: the graph the server is running now (after any hot reload), for review."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from agents_app.authoring.graph_page import graph_page
from agents_app.authoring.mermaid import GraphShape, to_mermaid
from agents_app.engine import Engine


def graph_endpoint(engine: Engine) -> Callable[[Request], Awaitable[Response]]:
    async def graph(request: Request) -> Response:
        config = engine.graph.config  # read once: a reload may swap it while we render
        shape = GraphShape.of(config)
        source = str(config.source)
        mermaid = to_mermaid(shape, title=source)
        headers = {"Cache-Control": "no-cache"}
        if request.query_params.get("format") == "mermaid":
            return PlainTextResponse(mermaid, headers=headers)
        return HTMLResponse(graph_page(shape, source=source, mermaid=mermaid), headers=headers)

    return graph
