"""Shared helpers for the agents.yaml tests: write a config, collect its issues."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agents_app.config import ConfigError, load_config
from tools.registry import tool_names

SHIPPED = Path(__file__).resolve().parents[1] / "config" / "agents.yaml"
TOOLS = frozenset({"how_many_jokes"})
SHIPPED_TOOLS = tool_names()  # the real registry: the shipped config must load against it


def write(tmp_path: Path, yaml: str, files: dict[str, str] | None = None) -> Path:
    for name, text in (files or {}).items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    path = tmp_path / "agents.yaml"
    path.write_text(textwrap.dedent(yaml).lstrip("\n"), encoding="utf-8")
    return path


def issues_of(path: Path, tool_names: frozenset[str] = TOOLS) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, tool_names=tool_names)
    return [str(issue) for issue in caught.value.issues]
