"""The data path goes one way: these packages must not reach back up it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "agents_app"

# package → what it must never import (DESIGN §2; issue [runs])
FORBIDDEN = {
    "stream": (
        "agents_app.engine",
        "agents_app.sinks",
        "agents_app.memory",
        "agents_app.runs",
        "agents_app.dispatch",
        "agents_app.server",
        "agents_app.cloud",
    ),
    "protocol": (
        "agents_app.engine",
        "agents_app.sinks",
        "agents_app.memory",
        "agents_app.runs",
        "agents_app.dispatch",
        "agents_app.stream",
    ),
    "memory": (
        "agents_app.engine",
        "agents_app.runs",
        "agents_app.dispatch",
        "agents_app.stream",
        "agents_app.server",
        "agents_app.cloud",
    ),
    "sinks": (
        "agents_app.engine",
        "agents_app.runs",
        "agents_app.dispatch",
        "agents_app.stream",
        "agents_app.memory",
    ),
    "runs": ("agents_app.dispatch", "agents_app.server", "agents_app.cloud", "agents_app.sinks"),
    "dispatch": ("agents_app.server", "agents_app.cloud", "agents_app.sinks"),
    "observe": (
        "agents_app.engine",
        "agents_app.runs",
        "agents_app.dispatch",
        "agents_app.server",
        "agents_app.cloud",
        "agents_app.memory",
        "agents_app.stream",
    ),
    # Guardrails are graph-building and translation concerns: no transports, no memory.
    "guardrails": (
        "agents_app.engine",
        "agents_app.runs",
        "agents_app.dispatch",
        "agents_app.server",
        "agents_app.cloud",
        "agents_app.sinks",
        "agents_app.memory",
    ),
}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", list(FORBIDDEN))
def test_package_does_not_import_upstream(package: str) -> None:
    offending = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in (PACKAGE / package).rglob("*.py")
        for name in imports_of(path)
        if name.startswith(FORBIDDEN[package])
    }
    assert not offending, sorted(offending)
