"""Shared helpers for the agents.yaml tests: write a config, collect its issues."""

from __future__ import annotations

import functools
import shutil
import tempfile
import textwrap
from pathlib import Path

import pytest
from ruamel.yaml import YAML

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


def unguarded_config() -> Path:
    """The shipped config without its guardrails, for tests that script every model request.

    The shipped `relevance` judge makes a model request of its own, beside triage's; a script
    written for the agents alone would hand it their replies (or race it for them).
    """
    return _unguarded()


@functools.cache
def _unguarded() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="agents-app-unguarded-")) / "config"
    shutil.copytree(SHIPPED.parent, folder)
    yaml = YAML(typ="rt")
    document = yaml.load(SHIPPED.read_text(encoding="utf-8"))
    for key in ("guardrails", "run_guardrails"):
        document.pop(key, None)
    for spec in document["agents"].values():
        spec.pop("guardrails", None)
        spec.pop("tool_guardrails", None)
    with (folder / "agents.yaml").open("w", encoding="utf-8") as out:
        yaml.dump(document, out)
    return folder / "agents.yaml"
