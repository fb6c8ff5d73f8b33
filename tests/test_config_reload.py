"""Hot reload: edits in the config folder reach new runs; broken edits keep the last good
graph; a run that is going keeps the graph it started with."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from agents_app.authoring.reload import ConfigReloader, watching
from agents_app.engine import Engine
from agents_app.server.app import create_app
from tests.conftest import LiveServer, is_terminal, live_server, offline_settings, recv_until
from tests.log_helpers import all_logs

CONFIG = Path(__file__).resolve().parents[1] / "config"
POET = """
  poet:
    name: Poet
    description: Writes poems and verses on request; poem, poetry, verse; стихи, стихотворение
    instructions: You write short poems.
    handoffs: [triage]
"""


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    shutil.copytree(CONFIG, tmp_path / "config")
    return tmp_path / "config"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def add_poet(agents_yaml: Path) -> None:
    edit(agents_yaml, "handoffs: [joker, researcher]", "handoffs: [joker, researcher, poet]")
    agents_yaml.write_text(agents_yaml.read_text(encoding="utf-8") + POET, encoding="utf-8")


async def next_attempt(reloader: ConfigReloader, before: int, wait_s: float = 10) -> None:
    async with asyncio.timeout(wait_s):
        await reloader.wait_for_attempts(before + 1)


async def session(server: LiveServer, text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    async with server.connect() as ws:
        ready = (await recv_until(ws, lambda e: e["type"] == "session.ready"))[-1]
        await ws.send(text)
        return ready, await recv_until(ws, is_terminal)


def switched_to(events: list[dict[str, Any]]) -> list[str]:
    return [e["to_agent"] for e in events if e["type"] == "agent.switched"]


@pytest.fixture
async def served(config_dir: Path) -> AsyncIterator[tuple[LiveServer, ConfigReloader, Engine]]:
    engine = Engine.from_settings(offline_settings(config_path=config_dir / "agents.yaml"))
    async with live_server(engine) as server, watching(engine, debounce_ms=50) as reloader:
        yield server, reloader, engine


async def test_new_agent_reaches_the_next_session_and_a_broken_edit_keeps_serving(
    served: tuple[LiveServer, ConfigReloader, Engine], config_dir: Path
) -> None:
    server, reloader, _ = served
    agents_yaml = config_dir / "agents.yaml"
    ready, events = await session(server, "Write a poem about the sea")
    assert "poet" not in [a["id"] for a in ready["agents"]]

    before = reloader.attempts
    add_poet(agents_yaml)
    await next_attempt(reloader, before)
    assert reloader.last_error is None
    ready, events = await session(server, "Write a poem about the sea")
    assert [a["id"] for a in ready["agents"]] == ["triage", "joker", "researcher", "poet"]
    assert switched_to(events)[:1] == ["poet"] and events[-1]["type"] == "run.completed"

    before = reloader.attempts
    with all_logs() as logs:
        edit(
            agents_yaml, "handoffs: [joker, researcher, poet]", "handoffs: [joker, researcher, poet"
        )
        await next_attempt(reloader, before)
    assert reloader.last_error is not None
    failed = [e for e in logs if e["event"] == "config.reload_failed"]
    assert len(failed) == 1 and failed[0]["log_level"] == "error"
    assert all(line.startswith(f"{agents_yaml}:") for line in failed[0]["errors"])
    assert "(syntax)" in failed[0]["errors"][0]

    ready, events = await session(server, "Write a poem about the sea")
    assert "poet" in [a["id"] for a in ready["agents"]]  # the last good graph
    assert switched_to(events)[:1] == ["poet"]


async def test_a_prompt_file_edit_is_reloaded_and_unknown_vars_are_refused(
    served: tuple[LiveServer, ConfigReloader, Engine], config_dir: Path
) -> None:
    _, reloader, engine = served
    prompt = config_dir / "prompts" / "researcher.md"
    before = reloader.attempts
    prompt.write_text("You are the researcher of {service_name}. Cite sources.\n")
    await next_attempt(reloader, before)
    assert "Cite sources." in str(engine.graph.agents["researcher"].instructions)

    before = reloader.attempts
    prompt.write_text("You are the researcher of {servce_name}.\n")
    await next_attempt(reloader, before)
    assert reloader.last_error is not None
    assert str(reloader.last_error) == (
        f"{prompt}:1:27: agents.researcher.instructions_file: unknown var 'servce_name' "
        "(did you mean 'service_name'?)"
    )
    assert "Cite sources." in str(engine.graph.agents["researcher"].instructions)


async def test_a_running_conversation_keeps_its_graph(config_dir: Path) -> None:
    agents_yaml = config_dir / "agents.yaml"
    # Paced so the run is still streaming while the reload happens.
    settings = offline_settings(config_path=agents_yaml, offline_pace_s=0.02)
    engine = Engine.from_settings(settings)
    async with (
        live_server(engine) as server,
        watching(engine, debounce_ms=50) as reloader,
        server.connect() as ws,
    ):
        await recv_until(ws, lambda e: e["type"] == "session.ready")
        await ws.send("Tell me a joke about cats")
        first = await recv_until(ws, lambda e: e["type"] == "text.delta")
        assert switched_to(first) == ["joker"]

        before = reloader.attempts
        text = agents_yaml.read_text(encoding="utf-8")
        renamed = text.replace("  joker:\n    name: Joker", "  comedian:\n    name: Comedian")
        agents_yaml.write_text(
            renamed.replace("[joker, researcher]", "[comedian, researcher]"), encoding="utf-8"
        )
        await next_attempt(reloader, before)
        assert "joker" not in engine.graph.agents and reloader.last_error is None

        rest = await recv_until(ws, is_terminal, wait_s=30)
        # The run finished on the graph it started with: same agent id, no failure.
        assert rest[-1]["type"] == "run.completed" and rest[-1]["agent"] == "joker"
        deltas_after_reload = sum(e["type"] == "text.delta" for e in rest)
        assert deltas_after_reload > 5, "the run ended before the reload: test proves nothing"

        # The next run gets the new graph.
        ready, events = await session(server, "Tell me a joke about dogs")
        assert [a["id"] for a in ready["agents"]] == ["triage", "comedian", "researcher"]
        assert switched_to(events)[:1] == ["comedian"]


def test_create_app_reload_config_watches_while_serving(config_dir: Path) -> None:
    engine = Engine.from_settings(offline_settings(config_path=config_dir / "agents.yaml"))
    with TestClient(create_app(engine, reload_config=True)) as client:
        assert "agent_poet" not in client.get("/graph", params={"format": "mermaid"}).text
        add_poet(config_dir / "agents.yaml")
        deadline = time.monotonic() + 10
        while "poet" not in engine.graph.agents and time.monotonic() < deadline:
            time.sleep(0.05)
        mermaid = client.get("/graph", params={"format": "mermaid"}).text
        assert "agent_triage -->|handoff| agent_poet" in mermaid
