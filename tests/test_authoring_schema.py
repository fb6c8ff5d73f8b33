"""Editor schemas: committed files equal the generated ones, and they check what validate does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from agents_app.authoring.json_schemas import SCHEMAS, config_schema, render
from tests.test_cli import agents_app

CONFIG = Path(__file__).resolve().parents[1] / "config"
YAML_FILES = {"config": "agents.yaml", "routing-examples": "routing-examples.yaml"}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_is_the_generated_one(name: str) -> None:
    generate, file_name = SCHEMAS[name]
    committed = (CONFIG / file_name).read_text(encoding="utf-8")
    assert committed == render(generate()), (
        f"config/{file_name} is stale: run `agents-app schema {name} > config/{file_name}`"
    )


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_shipped_yaml_points_editors_at_its_schema(name: str) -> None:
    first_line = (CONFIG / YAML_FILES[name]).read_text(encoding="utf-8").splitlines()[0]
    assert first_line == f"# yaml-language-server: $schema=./{SCHEMAS[name][1]}"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_shipped_yaml_is_valid_under_its_schema(name: str) -> None:
    schema = json.loads((CONFIG / SCHEMAS[name][1]).read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    document = YAML(typ="safe").load((CONFIG / YAML_FILES[name]).read_text(encoding="utf-8"))
    jsonschema.validate(document, schema, cls=jsonschema.Draft7Validator)


def test_cli_prints_the_schema() -> None:
    result = agents_app("schema", "config")
    assert result.returncode == 0, result.stderr
    assert result.stdout == render(config_schema())


def _errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(config_schema())
    return sorted(".".join(map(str, e.absolute_path)) for e in validator.iter_errors(document))


def agent(**fields: Any) -> dict[str, Any]:
    return {"version": 1, "start": "a", "agents": {"a": {"name": "A", **fields}}}


def test_editor_schema_flags_what_the_loader_rejects() -> None:
    assert _errors(agent(instructions="x", handoffs=["b"], tools=["t"])) == []
    assert _errors(agent(instructions="x", instructons="typo")) == ["agents.a"]
    assert _errors(agent()) == ["agents.a"]  # neither instructions nor a file
    assert _errors(agent(instructions="x", instructions_file="p.md")) == ["agents.a"]
    assert _errors(agent(instructions="x", tools=["t", "t"])) == ["agents.a.tools"]
    # Nullable fields are anyOf[…, null]: the editor underlines the whole value.
    assert _errors(agent(instructions="x", model_settings={"temperature": 3})) == [
        "agents.a.model_settings"
    ]
    bad_id = {"version": 1, "start": "a", "agents": {"Шутник": {"name": "x", "instructions": "y"}}}
    assert _errors(bad_id) == ["agents"]
    assert _errors({"version": 2, "start": "a", "agents": {}}) == ["agents", "version"]
