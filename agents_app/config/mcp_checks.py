"""Cross-checks of the `mcp_servers:` section that pydantic cannot do, with positions.

Transport-specific keys (a stdio server's `url` is a mistake worth naming), `${NAME}`
references, allow / deny lists and approvals that name tools the lists exclude. Nothing
here connects to a server: `agents-app tools` does that.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from .env_refs import BadRef, EnvRef, scan
from .errors import ConfigIssue, did_you_mean
from .positions import Loc, YamlLocator, format_path
from .schema import MCP_SERVER_NAME_PATTERN

_SERVER_NAME = re.compile(MCP_SERVER_NAME_PATTERN)
_TRANSPORT_KEYS = {"streamable_http": ("url", "headers"), "stdio": ("command", "args", "env")}
_REQUIRED_KEY = {"streamable_http": "url", "stdio": "command"}
# Headers whose literal values are credentials: they belong in the environment.
_SECRET_HEADERS = ("authorization", "api-key", "apikey", "token", "cookie", "secret")


def _dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class _McpChecks:
    def __init__(self, locator: YamlLocator, file: str, environ: Mapping[str, str]) -> None:
        self.locator = locator
        self.file = file
        self.environ = environ
        self.errors: list[ConfigIssue] = []
        self.warnings: list[ConfigIssue] = []

    def _issue(self, loc: Loc, message: str, *, at_key: bool, warning: bool = False) -> None:
        pos = self.locator.key(loc) if at_key else self.locator.value(loc)
        severity: Literal["error", "warning"] = "warning" if warning else "error"
        issue = ConfigIssue(self.file, pos.line, pos.column, format_path(loc), message, severity)
        (self.warnings if warning else self.errors).append(issue)

    def check(self, servers: Mapping[Any, Any], agents: Mapping[Any, Any]) -> None:
        used = {name for spec in agents.values() for name in _list(_dict(spec).get("mcp"))}
        for name, spec in servers.items():
            if not isinstance(name, str):
                continue  # pydantic reports non-string keys
            loc: Loc = ("mcp_servers", name)
            if not _SERVER_NAME.match(name):
                message = (
                    f"MCP server name {name!r} must be ASCII snake_case (a-z, 0-9, _; "
                    "starting with a letter): it appears in logs and tool events"
                )
                self._issue(loc, message, at_key=True)
            if not isinstance(spec, dict):
                continue
            self._transport(loc, spec)
            self._env_refs(loc, spec)
            self._tool_lists(loc, spec)
            if name not in used:
                message = f"MCP server {name!r} is not used by any agent (add it to an agent's mcp)"
                self._issue(loc, message, at_key=True, warning=True)

    def _transport(self, loc: Loc, spec: dict[Any, Any]) -> None:
        transport = spec.get("transport")
        if transport not in _TRANSPORT_KEYS:
            return  # missing or unknown: pydantic says so
        required = _REQUIRED_KEY[transport]
        if spec.get(required) is None:
            self._issue(loc, f"a {transport} server needs {required!r}", at_key=True)
        for other, keys in _TRANSPORT_KEYS.items():
            for key in keys if other != transport else ():
                if key in spec:
                    message = f"{key!r} is for {other} servers; this one is {transport}"
                    self._issue((*loc, key), message, at_key=True)
        url = spec.get("url")
        if transport == "streamable_http" and isinstance(url, str) and url:
            scheme = url.split("://", 1)[0].lower() if "://" in url else ""
            if scheme not in ("http", "https") and not url.startswith("${"):
                self._issue((*loc, "url"), "expected an http:// or https:// URL", at_key=False)

    def _env_refs(self, loc: Loc, spec: dict[Any, Any]) -> None:
        strings: list[tuple[Loc, str]] = []
        if isinstance(spec.get("url"), str):
            strings.append(((*loc, "url"), spec["url"]))
        for field in ("headers", "env"):
            strings.extend(
                ((*loc, field, key), value)
                for key, value in _dict(spec.get(field)).items()
                if isinstance(key, str) and isinstance(value, str)
            )
        strings.extend(
            ((*loc, "args", i), value)
            for i, value in enumerate(_list(spec.get("args")))
            if isinstance(value, str)
        )
        for at, text in strings:
            refs = scan(text)
            for ref in refs:
                if isinstance(ref, BadRef):
                    self._issue(at, ref.message, at_key=False)
                elif isinstance(ref, EnvRef) and ref.name not in self.environ:
                    message = (
                        f"environment variable {ref.name} is not set here; the server will "
                        "be unavailable until it is"
                    )
                    self._issue(at, message, at_key=False, warning=True)
            header = str(at[-1]).lower() if len(at) == 4 and at[2] == "headers" else ""
            if header and not refs and any(word in header for word in _SECRET_HEADERS):
                message = (
                    f"header {at[-1]!r} has a literal value: put the secret in the "
                    "environment and write ${NAME} here"
                )
                self._issue(at, message, at_key=False, warning=True)

    def _tool_lists(self, loc: Loc, spec: dict[Any, Any]) -> None:
        tools = _dict(spec.get("tools"))
        allow = tools.get("allow") if isinstance(tools.get("allow"), list) else None
        deny = _list(tools.get("deny"))
        for i, name in enumerate(deny):
            if allow is not None and name in allow:
                message = f"tool {name!r} is both allowed and denied"
                self._issue((*loc, "tools", "deny", i), message, at_key=False)
        for name in _dict(spec.get("approvals")):
            if not isinstance(name, str):
                continue
            at = (*loc, "approvals", name)
            if name in deny:
                self._issue(at, f"approval for {name!r}, which is denied", at_key=True)
            elif allow is not None and name not in allow:
                allowed = [a for a in allow if isinstance(a, str)]
                hint = did_you_mean(name, allowed) or f" (allowed: {', '.join(allowed)})"
                message = f"approval for {name!r}, which is not in tools.allow{hint}"
                self._issue(at, message, at_key=True)


def mcp_issues(
    servers: Mapping[Any, Any],
    agents: Mapping[Any, Any],
    locator: YamlLocator,
    file: str,
    environ: Mapping[str, str],
) -> tuple[list[ConfigIssue], tuple[ConfigIssue, ...]]:
    """Errors and warnings for the raw `mcp_servers` mapping (malformed parts are skipped:
    pydantic reports those)."""
    checks = _McpChecks(locator, file, environ)
    checks.check(servers, agents)
    return checks.errors, tuple(checks.warnings)
