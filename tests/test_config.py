"""agents.yaml loading: the shipped config, resolution of vars, files and settings."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from agents import ModelSettings
from pydantic import ValidationError

from agents_app.config import (
    AgentsConfig,
    AgentSpec,
    load_config,
)
from agents_app.config.errors import did_you_mean
from agents_app.config.placeholders import BraceError, Placeholder, scan
from tests.config_helpers import SHIPPED, SHIPPED_TOOLS, TOOLS, issues_of, write

# -- the shipped config -----------------------------------------------------------------


def test_shipped_config_loads() -> None:
    config = load_config(SHIPPED, tool_names=SHIPPED_TOOLS)

    assert config.source == SHIPPED
    assert config.start == "triage"
    assert list(config.agents) == ["triage", "joker", "researcher"]
    assert config.agents["triage"].handoffs == ("joker", "researcher")
    assert config.agents["joker"].tools == ("how_many_jokes",)
    assert config.agents["joker"].handoffs == ("triage",)
    assert config.agents["researcher"].tools == ("web_search", "fetch_url")
    assert config.agents["researcher"].handoffs == ("triage",)
    service_name = config.vars["service_name"]
    for agent_id in config.agents:
        text = config.instructions_for(agent_id)
        assert service_name in text, agent_id  # {service_name} is used and substituted
        assert "{service_name}" not in text
        assert config.model_for(agent_id) == "yandexgpt/latest"
        assert isinstance(config.model_settings_for(agent_id), ModelSettings)
    assert "how_many_jokes" in config.instructions_for("joker")


# -- resolution: vars, files, model settings ---------------------------------------------


def test_instructions_are_resolved(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        start: a
        vars: {name: Demo, count: 3, loud: true}
        agents:
          a:
            name: A
            instructions: |
              {name} tells {count} jokes, loud={loud}; JSON looks like {{"k": 1}}.
          b:
            name: B
            instructions_file: prompts/b.md
        """,
        {"prompts/b.md": "Service: {name}\n"},
    )
    config = load_config(path, tool_names=TOOLS)

    assert (
        config.instructions_for("a") == 'Demo tells 3 jokes, loud=true; JSON looks like {"k": 1}.\n'
    )
    assert config.agents["b"].instructions == "Service: Demo\n"
    assert config.agents["b"].instructions_file == "prompts/b.md"
    assert list(config.agents) == ["a", "b"]


def test_model_and_settings_merge_over_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        start: a
        defaults:
          model: base-model
          model_settings: {temperature: 0.3, max_tokens: 100}
        agents:
          a: {name: A, instructions: x}
          b:
            name: B
            instructions: y
            model: special
            model_settings: {temperature: null, top_p: 0.5, parallel_tool_calls: false}
        """,
    )
    config = load_config(path, tool_names=TOOLS)

    assert config.model_for("a") == "base-model"
    assert config.model_for("b") == "special"
    assert config.model_settings_for("a") == ModelSettings(temperature=0.3, max_tokens=100)
    # An explicit null drops the default rather than being ignored.
    assert config.model_settings_for("b") == ModelSettings(
        max_tokens=100, top_p=0.5, parallel_tool_calls=False
    )


def test_model_defaults_to_none_when_unset(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nstart: a\nagents: {a: {name: A, instructions: x}}\n")
    config = load_config(path, tool_names=())
    assert config.model_for("a") is None
    assert config.model_settings_for("a") == ModelSettings()


def test_config_built_in_code_is_checked() -> None:
    agent = AgentSpec(name="A", instructions="x", handoffs=("ghost",))
    with pytest.raises(ValidationError, match="undefined agent 'ghost'"):
        AgentsConfig(version=1, start="a", agents={"a": agent})
    with pytest.raises(ValidationError, match="start agent 'b'"):
        AgentsConfig(version=1, start="b", agents={"a": AgentSpec(name="A", instructions="x")})
    config = AgentsConfig(version=1, start="a", agents={"a": AgentSpec(name="A", instructions="x")})
    with pytest.raises(KeyError, match="known: a"):
        config.agent("zzz")


# -- placeholder scanning ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["plain", "a{x}b", "{{lit}} {x} }}{{", "{{{x}}}", "{a}{b}", "{x:{y}}z", "{}", '{"k": 1}'],
)
def test_scan_agrees_with_str_format(text: str) -> None:
    tokens = list(scan(text))
    fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    placeholders = [t for t in tokens if isinstance(t, Placeholder)]
    assert [p.raw.split(":")[0].split("!")[0] for p in placeholders] == fields
    for p in placeholders:
        assert text.startswith("{" + p.raw + "}", p.offset)


@pytest.mark.parametrize(("text", "offset"), [("a } b", 2), ("{{ok}} {open", 7), ("}}x}", 3)])
def test_scan_positions_brace_errors(text: str, offset: int) -> None:
    *_, last = scan(text)
    assert isinstance(last, BraceError) and last.offset == offset


# -- did-you-mean -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("jokr", " (did you mean 'joker'?)"),
        ("Joker", " (did you mean 'joker'?)"),  # case slip
        ("web", " (did you mean 'web_search'?)"),  # unambiguous prefix
        ("user_nme", ""),  # "service_name" is too far to be a useful hint
        ("re", ""),  # too short to guess from
    ],
)
def test_did_you_mean(word: str, expected: str) -> None:
    assert did_you_mean(word, ["joker", "researcher", "web_search", "service_name"]) == expected


def test_non_string_agent_key_is_reported_at_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nstart: a\nagents:\n  1: {name: A, instructions: x}\n")
    got = issues_of(path)
    assert f"{path}:4:3: agents[1]: key: expected a string (got 1)" in got


def test_merged_keys_without_positions_fall_back_to_the_owner(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        start: a
        agents:
          a:
            <<: {name: A, instructions: "Hi {nope}"}
            description: d
          b: {name: B, instructions: "{later} braces elsewhere must not be matched"}
        """,
    )
    got = issues_of(path)
    assert got[0].startswith(f"{path}:4:3: agents.a.instructions: unknown var 'nope'")
