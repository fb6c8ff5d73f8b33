"""The offline router's own `keywords:`, so descriptions stay written for people and models."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from agents import RunConfig, Runner

from agents_app.config import load_config
from agents_app.engine import Engine
from agents_app.graph import build_graph
from agents_app.models.offline import OfflineModelProvider
from agents_app.models.providers import build_backend
from agents_app.testing import Reply, ScriptedOpenAIServer, Text
from tests.config_helpers import SHIPPED, SHIPPED_TOOLS
from tests.test_faults import settings_for
from tools.registry import get_tool

CYRILLIC = re.compile(r"[\u0400-\u04ff]")

KITCHEN = """
    version: 1
    start: front
    agents:
      front:
        name: Front desk
        description: Greets people and finds the right colleague.
        instructions: Route the request.
        handoffs: [chef, poet]
      chef:
        name: Chef
        description: Cooks.
        keywords: [recipe, recipes, borscht, рецепт, борщ]
        instructions: Give recipes.
      poet:
        name: Poet
        description: Writes poems.
        keywords: [poem, verse, стихи]
        instructions: Write poems.
"""


def kitchen(tmp_path: Path) -> Path:
    path = tmp_path / "agents.yaml"
    path.write_text(textwrap.dedent(KITCHEN).lstrip("\n"), encoding="utf-8")
    return path


def test_shipped_descriptions_are_for_people_and_keywords_carry_the_words() -> None:
    agents = load_config(SHIPPED, tool_names=SHIPPED_TOOLS).agents
    for word in ("joke", "funny", "шутки", "анекдот", "пошутить"):
        assert word in agents["joker"].keywords
    for word in ("explain", "search", "что такое", "почему", "объясни"):
        assert word in agents["researcher"].keywords
    for agent_id, spec in agents.items():
        # A sentence or two a person (and a real model choosing a handoff) reads easily:
        # no keyword lists, no second language tacked on.
        assert spec.keywords, agent_id
        assert len(spec.description) < 160 and ";" not in spec.description, agent_id
        assert not CYRILLIC.search(spec.description), agent_id
        listed = [k for k in spec.keywords if f" {k}," in f" {spec.description},"]
        assert len(listed) < 3, (agent_id, listed)


@pytest.mark.parametrize(
    ("text", "agent"),
    [("A recipe for borscht, please", "Chef"), ("Как сварить борщ? Нужен рецепт", "Chef")],
)
async def test_the_offline_router_routes_by_keywords(tmp_path: Path, text: str, agent: str) -> None:
    graph = build_graph(load_config(kitchen(tmp_path), tool_names=set()), get_tool=get_tool)
    provider = OfflineModelProvider()
    result = await Runner.run(
        graph.agent(None),
        text,
        run_config=RunConfig(model_provider=provider, tracing_disabled=True),
    )
    assert result.last_agent.name == agent  # "recipe" and "борщ" are in no description


async def test_real_models_never_see_the_keywords(
    srv: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    config_path = kitchen(tmp_path)
    settings = settings_for(srv.base_url, config_path=config_path)
    graph = build_graph(load_config(config_path, tool_names=set()), get_tool=get_tool)
    engine = Engine(settings, graph, build_backend(settings))
    srv.enqueue(Reply([Text("Hello!")]))
    await Runner.run(graph.agent(None), "hi", run_config=engine.run_config())
    tools: list[dict[str, Any]] = srv.requests[0].body["tools"]
    chef = next(t for t in tools if t["name"] == "transfer_to_chef")
    assert "Cooks." in chef["description"]
    sent = str(srv.requests[0].body)
    assert not any(word in sent for word in ("recipe", "borscht", "рецепт", "стихи"))


def test_the_json_schema_documents_keywords() -> None:
    schema = json.loads((SHIPPED.parent / "agents.schema.json").read_text(encoding="utf-8"))
    agent = schema["$defs"]["AgentSpec"]["properties"]
    assert "keywords" in agent and "offline" in agent["keywords"]["description"]
