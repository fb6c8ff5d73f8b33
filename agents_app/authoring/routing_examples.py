"""``config/routing-examples.yaml``: user inputs and the specialist each should reach first.

Loaded like agents.yaml: every problem at once, as ``file:line:column`` with a
did-you-mean, so a typo in an expected agent id reads like any other config error.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from agents_app.config.errors import ConfigError, ConfigIssue, did_you_mean, known_list
from agents_app.config.messages import syntax_issue
from agents_app.config.positions import START, YamlLocator, format_path, to_plain
from agents_app.config.pydantic_errors import pydantic_issue
from agents_app.config.strict import Strict

FILE_NAME = "routing-examples.yaml"


class RoutingExampleSpec(Strict):
    """One user input and the agent that should handle it first."""

    input: str = Field(min_length=1, description="What the user types.")
    expect: str = Field(
        min_length=1,
        description=(
            "Id of the first specialist the start agent should hand off to; the start "
            "agent's own id if it should answer itself."
        ),
    )
    note: str = Field(default="", description="Why this example is here (for reviewers).")


class RoutingExamplesFile(Strict):
    """Routing checks run by ``agents-app eval-routing``."""

    version: Literal[1] = Field(description="Schema version of this file.")
    examples: tuple[RoutingExampleSpec, ...] = Field(min_length=1, strict=False)


@dataclass(frozen=True, slots=True)
class RoutingExample:
    input: str
    expect: str
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def default_path(config_path: Path) -> Path:
    """The examples file that sits next to ``agents.yaml``."""
    return config_path.parent / FILE_NAME


def load_examples(path: str | Path, *, agent_ids: Collection[str]) -> list[RoutingExample]:
    """Examples in file order; ``ConfigError`` listing every problem otherwise."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError([_issue(file, "(file)", "routing examples file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([_issue(file, "(file)", f"cannot read: {exc}")]) from None
    try:
        root = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        pos, where, message = syntax_issue(exc)
        raise ConfigError([ConfigIssue(file, pos.line, pos.column, where, message)]) from None
    if not isinstance(root, dict):
        raise ConfigError([_issue(file, "(document)", "expected a mapping with version, examples")])
    locator = YamlLocator(root)
    plain = to_plain(root)
    issues = _unknown_agents(plain, agent_ids, locator, file)
    try:
        document = RoutingExamplesFile.model_validate(plain)
    except ValidationError as exc:
        issues += [pydantic_issue(e, locator, file, RoutingExamplesFile) for e in exc.errors()]
    if issues:
        raise ConfigError(sorted(issues, key=lambda i: (i.line, i.column)))
    return [
        RoutingExample(spec.input, spec.expect, file, locator.key(("examples", i)).line)
        for i, spec in enumerate(document.examples)
    ]


def _unknown_agents(
    plain: dict[Any, Any], agent_ids: Collection[str], locator: YamlLocator, file: str
) -> list[ConfigIssue]:
    # From the raw document, so a typo in one example is reported next to a bad key in
    # another instead of after it is fixed.
    raw = plain.get("examples")
    items = raw if isinstance(raw, list) else []
    return [
        _unknown_agent(item["expect"], agent_ids, locator, file, i)
        for i, item in enumerate(items)
        if isinstance(item, dict)
        and isinstance(item.get("expect"), str)
        and item["expect"]
        and item["expect"] not in agent_ids
    ]


def _unknown_agent(
    expect: str, agent_ids: Collection[str], locator: YamlLocator, file: str, i: int
) -> ConfigIssue:
    loc: tuple[Any, ...] = ("examples", i, "expect")
    pos = locator.value(loc)
    hint = did_you_mean(expect, agent_ids) or f" ({known_list(agent_ids)})"
    return ConfigIssue(file, pos.line, pos.column, format_path(loc), f"no agent {expect!r}{hint}")


def _issue(file: str, where: str, message: str) -> ConfigIssue:
    return ConfigIssue(file, START.line, START.column, where, message)
