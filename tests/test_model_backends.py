"""Real model clients (openai + openai-agents) against the scripted server, both APIs."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from agents import FunctionTool, function_tool

from agents_app.config import load_config
from agents_app.engine import Engine
from agents_app.graph import build_graph
from agents_app.models.providers import build_backend
from agents_app.protocol.events import RunEvent
from agents_app.runs.execute import run_turn
from agents_app.runs.turn import Turn
from agents_app.settings import Settings
from agents_app.testing import (
    BreakStream,
    Fail,
    Malformed,
    Reply,
    ScriptedOpenAIServer,
    Text,
    ToolCall,
)
from agents_app.testing.configs import unguarded_config
from tests.conftest import JOKE_RUN_TYPES, JOKES_SEED

API_KEY = "sk-test-0123456789-secret"
JOKE_SCRIPT = (
    Reply([ToolCall("transfer_to_joker")]),
    Reply([ToolCall("how_many_jokes")]),
    Reply([Text("Why do programmers mix up Halloween and Christmas? Oct 31 == Dec 25.")]),
)


def remote_settings(srv: ScriptedOpenAIServer, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "provider": "openai",
        "api_key": API_KEY,
        "base_url": srv.base_url,
        "jokes_seed": JOKES_SEED,
        "model_max_retries": 0,
        "model_timeout_s": 5.0,
        "data_dir": Path(tempfile.mkdtemp(prefix="agents-app-test-")),
        "config_path": unguarded_config(),  # every model request here is scripted
    }
    return Settings(**(base | overrides))


async def run(engine: Engine, text: str = "Tell me a joke about programming") -> list[RunEvent]:
    events: list[RunEvent] = []
    await run_turn(Turn(conversation_id="c1", text=text), engine=engine, emit=events.append)
    return events


def types(events: list[RunEvent]) -> list[str]:
    return [e.type for e in events if e.type != "text.delta"]


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_triage_joker_tool_text_over_both_apis(srv: ScriptedOpenAIServer, api: str) -> None:
    srv.enqueue(*JOKE_SCRIPT)
    engine = Engine.from_settings(remote_settings(srv, api=api))
    events = await run(engine)

    assert types(events) == JOKE_RUN_TYPES
    done = next(e for e in events if e.type == "tool.call.completed")
    assert (done.tool, done.output, done.agent) == ("how_many_jokes", "3", "joker")
    last = events[-1]
    assert last.type == "run.completed"
    assert last.agent == "joker" and "Oct 31" in last.final_output
    assert last.usage.model_dump() == {
        "requests": 3,
        "input_tokens": 30,
        "output_tokens": 15,
        "total_tokens": 45,
    }
    path = "/v1/responses" if api == "responses" else "/v1/chat/completions"
    assert [r.path for r in srv.requests] == [path] * 3
    first = srv.requests[0].body
    assert first["model"] == "yandexgpt/latest" and first["stream"] is True
    tool_names = {t.get("name") or t.get("function", {}).get("name") for t in first["tools"]}
    assert tool_names == {"transfer_to_joker", "transfer_to_researcher"}
    if api == "chat_completions":
        assert first["stream_options"] == {"include_usage": True}
    assert API_KEY not in "".join(e.model_dump_json() for e in events)


async def test_yandex_gets_model_uri_and_project(srv: ScriptedOpenAIServer) -> None:
    srv.enqueue(Reply([Text("Hello from YandexGPT")]))
    settings = remote_settings(srv, provider="yandex", folder_id="b1gfolder")
    events = await run(Engine.from_settings(settings), "hi")
    assert events[-1].type == "run.completed"
    request = srv.requests[0]
    assert request.body["model"] == "gpt://b1gfolder/yandexgpt/latest"
    assert request.headers["openai-project"] == "b1gfolder"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"


def test_auto_provider_picks_yandex_only_with_credentials() -> None:
    assert Settings(provider="auto", api_key=None).resolved_provider == "offline"
    both = Settings(provider="auto", api_key="k", folder_id="f")
    assert both.resolved_provider == "yandex"
    assert Settings(provider="auto", api_key="k", base_url="http://x").resolved_provider == "openai"


@pytest.mark.parametrize(
    ("step", "code", "retryable"),
    [
        (Fail(429, headers={"retry-after": "0"}), "rate_limited", True),
        (Fail(500), "model_error", True),
        (Fail(401), "model_error", False),
        (Malformed("{not json"), "model_error", True),
        (BreakStream(after_events=2), "model_error", True),
    ],
)
async def test_model_errors_end_in_one_typed_failure(
    srv: ScriptedOpenAIServer, step: Any, code: str, retryable: bool
) -> None:
    srv.enqueue(step)
    events = await run(Engine.from_settings(remote_settings(srv)))
    terminal = [e for e in events if e.type in {"run.completed", "run.failed", "run.cancelled"}]
    assert len(terminal) == 1 and terminal[0] is events[-1]
    failed = events[-1]
    assert failed.type == "run.failed"
    assert (failed.code, failed.retryable) == (code, retryable)
    assert API_KEY not in failed.message


async def test_max_turns_is_reported(srv: ScriptedOpenAIServer) -> None:
    srv.enqueue(JOKE_SCRIPT[0], *[Reply([ToolCall("how_many_jokes")]) for _ in range(3)])
    events = await run(Engine.from_settings(remote_settings(srv, max_turns=2)))
    assert events[-1].type == "run.failed" and events[-1].code == "max_turns"


@function_tool
def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"kaboom: {reason}")


async def test_tool_failure_is_reported_and_the_run_goes_on(
    srv: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    config_path = tmp_path / "agents.yaml"
    config_path.write_text(
        "version: 1\nstart: solo\nagents:\n  solo:\n    name: Solo\n"
        "    instructions: use the tool\n    tools: [explode]\n"
    )
    tools: dict[str, FunctionTool] = {"explode": explode}
    settings = remote_settings(srv, config_path=config_path)
    config = load_config(config_path, tool_names=tools)
    engine = Engine(
        settings, build_graph(config, get_tool=tools.__getitem__), build_backend(settings)
    )
    srv.enqueue(
        Reply([ToolCall("explode", arguments=json.dumps({"reason": "test"}))]),
        Reply([Text("The tool failed, sorry.")]),
    )
    events = await run(engine, "go")
    assert types(events) == [
        "run.started",
        "tool.call.started",
        "tool.call.completed",
        "message.started",
        "message.completed",
        "run.completed",
    ]
    started = next(e for e in events if e.type == "tool.call.started")
    assert started.arguments == {"reason": "test"}
    completed = next(e for e in events if e.type == "tool.call.completed")
    # The exception's type only: its text is for the server's log (tests/test_secrets.py).
    assert completed.error == "The tool failed (RuntimeError)."
    assert completed.output  # the model read the SDK's error message


async def test_tool_output_is_capped(srv: ScriptedOpenAIServer, tmp_path: Path) -> None:
    @function_tool
    def big() -> str:
        """Returns a lot."""
        return "x" * 10_000

    config_path = tmp_path / "agents.yaml"
    config_path.write_text(
        "version: 1\nstart: solo\nagents:\n  solo:\n    name: Solo\n"
        "    instructions: use the tool\n    tools: [big]\n"
    )
    settings = remote_settings(srv, config_path=config_path, tool_output_limit=100)
    config = load_config(config_path, tool_names={"big"})
    engine = Engine(settings, build_graph(config, get_tool=lambda _: big), build_backend(settings))
    srv.enqueue(Reply([ToolCall("big")]), Reply([Text("done")]))
    events = await run(engine, "go")
    completed = next(e for e in events if e.type == "tool.call.completed")
    assert completed.truncated and len(completed.output) == 100


async def test_websocket_conversation_keeps_history(srv: ScriptedOpenAIServer) -> None:
    from tests.conftest import is_terminal, live_server, recv_json, recv_until

    srv.enqueue(Reply([Text("Nice to meet you, Ada.")]), Reply([Text("You are Ada.")]))
    engine = Engine.from_settings(remote_settings(srv))
    async with live_server(engine) as live, live.connect() as ws:
        await recv_json(ws)
        for text in ("My name is Ada", "What is my name?"):
            await ws.send(json.dumps({"type": "user.message", "text": text, "agent": "joker"}))
            events = await recv_until(ws, is_terminal)
            assert events[-1]["type"] == "run.completed"
    second_input = json.dumps(srv.requests[1].body["input"])
    assert "My name is Ada" in second_input and "Nice to meet you, Ada." in second_input
