"""A tiny notes store served over MCP: the demo server for `config/examples/mcp.yaml` and tests.

Written with the `mcp` package's own server API, so it behaves like any third-party server:
the service only knows its URL (streamable HTTP) or its command line (stdio).

    python -m agents_app.mcp.demo_notes                        # stdio (what the example uses)
    python -m agents_app.mcp.demo_notes --http --port 8765     # http://127.0.0.1:8765/mcp
"""

from __future__ import annotations

import argparse
from itertools import count

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

MAX_NOTES = 100  # a demo keeps everything in memory: bound it


def build_server() -> MCPServer:
    """A fresh server with its own empty notes (one per process, or per test)."""
    server: MCPServer = MCPServer(
        "notes", instructions="A small notes store: add notes, list them, find one."
    )
    notes: dict[int, str] = {}
    ids = count(1)

    @server.tool()
    def add_note(text: str) -> str:
        """Save a short note; returns its number."""
        if not text.strip():
            raise ToolError("a note needs some text")
        if len(notes) >= MAX_NOTES:
            raise ToolError(f"the notes store is full ({MAX_NOTES} notes)")
        number = next(ids)
        notes[number] = text.strip()
        return f"Saved note {number}: {notes[number]}"

    @server.tool()
    def list_notes() -> str:
        """All saved notes, one per line, numbered."""
        if not notes:
            return "No notes yet."
        return "\n".join(f"{number}. {text}" for number, text in notes.items())

    @server.tool()
    def delete_note(number: int) -> str:
        """Delete a note by its number."""
        if notes.pop(number, None) is None:
            raise ToolError(f"there is no note {number}")
        return f"Deleted note {number}."

    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--http", action="store_true", help="serve streamable HTTP, not stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    options = parser.parse_args()
    server = build_server()
    if options.http:
        server.run("streamable-http", host=options.host, port=options.port)
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()
