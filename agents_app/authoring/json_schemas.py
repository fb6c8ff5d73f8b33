"""JSON Schemas of the files prompt authors edit, for editors (yaml-language-server).

Generated from the same pydantic models the loaders validate with, then given the rules
only the loaders check (id pattern, one of instructions / instructions_file), so the
editor flags what ``agents-app validate`` would. Committed next to the YAML files; a test
keeps them equal to what this module generates.
"""

from __future__ import annotations

import json
from typing import Any

from agents_app.authoring.routing_examples import RoutingExamplesFile
from agents_app.config.schema import AGENT_ID_PATTERN, AgentsFile

# draft-07 is what every editor's YAML/JSON service supports fully; pydantic's output uses
# nothing newer ($defs is only a JSON pointer target).
_DIALECT = "http://json-schema.org/draft-07/schema#"


def config_schema() -> dict[str, Any]:
    """Schema of ``agents.yaml``."""
    schema = AgentsFile.model_json_schema()
    schema = {"$schema": _DIALECT, **schema, "title": "agents.yaml (agents-app, version 1)"}
    agents = schema["properties"]["agents"]
    agents["propertyNames"] = {"pattern": AGENT_ID_PATTERN}
    agent = schema["$defs"]["AgentSpec"]
    agent["oneOf"] = [
        {"required": ["instructions"], "not": {"required": ["instructions_file"]}},
        {"required": ["instructions_file"], "not": {"required": ["instructions"]}},
    ]
    for field in ("handoffs", "tools"):
        agent["properties"][field]["uniqueItems"] = True
    return schema


def routing_examples_schema() -> dict[str, Any]:
    """Schema of ``routing-examples.yaml``."""
    schema = RoutingExamplesFile.model_json_schema()
    return {"$schema": _DIALECT, **schema, "title": "routing-examples.yaml (agents-app)"}


# name on the command line → (generator, file name next to agents.yaml)
SCHEMAS = {
    "config": (config_schema, "agents.schema.json"),
    "routing-examples": (routing_examples_schema, "routing-examples.schema.json"),
}


def render(schema: dict[str, Any]) -> str:
    """The exact text of a committed schema file (what ``agents-app schema …`` prints)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
