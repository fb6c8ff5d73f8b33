"""Starting real MCP servers for tests, and configs that give their tools to an agent."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class McpProcess:
    """`tests/mcp_server.py` as a child process; `url` is its streamable HTTP endpoint."""

    def __init__(self, *, token: str | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.token = token
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> McpProcess:
        command = [sys.executable, "-m", "tests.mcp_server", "--port", str(self.port)]
        if self.token:
            command += ["--token", self.token]
        self.process = subprocess.Popen(command, cwd=PROJECT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the test MCP server exited ({self.process.returncode})")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the test MCP server did not start")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait(timeout=10)

    def __enter__(self) -> McpProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def write_config(tmp: Path, servers: str, *, agent_mcp: str = "[notes]", tools: str = "[]") -> Path:
    """An agents.yaml with one agent, `helper`, using the given `mcp_servers` entries."""
    path = tmp / "agents.yaml"
    path.write_text(
        "version: 1\nstart: helper\nmcp_servers:\n"
        + servers
        + "agents:\n  helper:\n    name: Helper\n    description: Keeps notes.\n"
        + f"    instructions: Use your tools.\n    tools: {tools}\n    mcp: {agent_mcp}\n",
        encoding="utf-8",
    )
    return path


def http_entry(url: str, *, extra: str = "", name: str = "notes", timeout: float = 5) -> str:
    return (
        f"  {name}:\n    transport: streamable_http\n    url: {url}\n    timeout: {timeout}\n"
        + extra
    )
