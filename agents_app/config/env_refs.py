"""`${NAME}` references to environment variables in config strings (MCP urls, headers, env).

Secrets belong in the environment, not in agents.yaml: the YAML names them, the service
reads them when it connects. `$$` is a literal `$`. Pure text handling, no I/O: the loader
uses it to report bad references at their position, the MCP layer to expand them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True, slots=True)
class EnvRef:
    name: str
    offset: int  # of the `$` in the text


@dataclass(frozen=True, slots=True)
class BadRef:
    raw: str
    offset: int

    @property
    def message(self) -> str:
        if not self.raw.endswith("}"):
            return f"{self.raw!r} is not closed; write ${{NAME}} (or $$ for a literal $)"
        return (
            f"{self.raw!r} is not an environment variable reference; names are letters, "
            "digits and _ (write $$ for a literal $)"
        )


class MissingEnv(Exception):
    """A referenced variable is not set; the message names it, never a value."""

    def __init__(self, name: str) -> None:
        super().__init__(f"environment variable {name} is not set")
        self.name = name


def scan(text: str) -> list[EnvRef | BadRef]:
    """Every reference in `text`, good and bad, in order."""
    found: list[EnvRef | BadRef] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token == "$$":
            continue
        name = match.group(1)
        if name is not None and _NAME.match(name):
            found.append(EnvRef(name, match.start()))
        else:
            found.append(BadRef(token, match.start()))
    return found


def expand(text: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """`text` with references replaced, and the values it took from the environment.

    The values are returned so the caller can treat them as secrets (scrubbed from logs).
    Raises `MissingEnv` for an unset variable, `ValueError` for a malformed reference.
    """
    used: list[str] = []

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$$":
            return "$"
        name = match.group(1)
        if name is None or not _NAME.match(name):
            raise ValueError(BadRef(token, match.start()).message)
        value = environ.get(name)
        if value is None:
            raise MissingEnv(name)
        used.append(value)
        return value

    return _TOKEN.sub(replace, text), used
