"""An `mcp_servers` entry → the openai-agents client for it (streamable HTTP or stdio).

`${NAME}` references are expanded here, at connect time, from the environment: the config
model (fingerprinted, drawn on /graph) never holds a secret, and every value taken from the
environment, and every header value, is handed back to be scrubbed from logs and events.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from agents.mcp import (
    MCPServerStdio,
    MCPServerStdioParams,
    MCPServerStreamableHttp,
    MCPServerStreamableHttpParams,
    create_static_tool_filter,
)
from agents.mcp.server import _MCPServerWithClientSession

from agents_app.config.env_refs import expand
from agents_app.config.tool_specs import McpServerSpec

# Header names whose values are credentials even when written literally (an `Accept` value
# is not a secret, and scrubbing "application/json" from every log would be absurd).
_SECRET_HEADER_WORDS = ("authorization", "key", "token", "cookie", "secret", "password", "auth")
# `command: python` is the interpreter this service runs on: a prompt author writing
# `python -m their_server` means "the Python I installed things into", not whatever PATH finds.
_PYTHON_ALIASES = frozenset({"python", "python3"})


class NotHere(Exception):
    """This server cannot run in this process (stdio in the Cloud Function)."""


@dataclass(frozen=True)
class Built:
    client: _MCPServerWithClientSession
    secrets: tuple[str, ...]  # values to scrub: environment values used, credential headers


def build_client(
    name: str,
    spec: McpServerSpec,
    *,
    environ: Mapping[str, str] | None = None,
    allow_stdio: bool = True,
) -> Built:
    """The SDK client for `spec` (not connected). Raises `MissingEnv` for an unset variable."""
    env = os.environ if environ is None else environ
    secrets: list[str] = []

    def fill(text: str) -> str:
        value, used = expand(text, env)
        secrets.extend(used)
        return value

    allow, deny = spec.tools.allow, spec.tools.deny
    tool_filter = (
        create_static_tool_filter(
            allowed_tool_names=list(allow) if allow is not None else None,
            blocked_tool_names=list(deny) or None,
        )
        if allow is not None or deny
        else None
    )
    if spec.transport == "streamable_http":
        assert spec.url is not None  # the loader requires it
        headers = {key: fill(value) for key, value in spec.headers.items()}
        # Credential headers are scrubbed whole ("Bearer …"), literal or not; `${NAME}`
        # values of any header already are (fill).
        secrets.extend(
            value
            for key, value in headers.items()
            if any(word in key.lower() for word in _SECRET_HEADER_WORDS)
        )
        http: MCPServerStreamableHttpParams = {
            "url": fill(spec.url),
            "headers": headers,
            "timeout": spec.timeout,
        }
        client: _MCPServerWithClientSession = MCPServerStreamableHttp(
            http,
            cache_tools_list=spec.cache_tools_list,
            name=name,
            client_session_timeout_seconds=spec.timeout,
            tool_filter=tool_filter,
        )
    else:
        if not allow_stdio:
            raise NotHere("stdio servers run only locally, not in the Cloud Function")
        assert spec.command is not None  # the loader requires it
        command = sys.executable if spec.command in _PYTHON_ALIASES else fill(spec.command)
        stdio: MCPServerStdioParams = {
            "command": command,
            "args": [fill(arg) for arg in spec.args],
            "env": {key: fill(value) for key, value in spec.env.items()},
        }
        client = MCPServerStdio(
            stdio,
            cache_tools_list=spec.cache_tools_list,
            name=name,
            client_session_timeout_seconds=spec.timeout,
            tool_filter=tool_filter,
        )
    return Built(client, tuple(secrets))
