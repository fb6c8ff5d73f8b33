"""The whole pipeline against a real model: llama.cpp's OpenAI-compatible server on 127.0.0.1
running SmolLM2-135M (the `local-llm` extra; `make test-local-llm`, deselected from `make test`).

WebSocket client → our server → openai-agents → openai client → llama.cpp, nothing scripted.
What this server does differently from our scripted one is in docs/local-llm.md.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents_app.engine import Engine
from agents_app.settings import Settings
from agents_app.testing.llama_server import LlamaServer
from tests.conftest import (
    JOKES_SEED,
    assert_whole_run,
    is_terminal,
    live_server,
    ready,
    recv_json,
    recv_until,
)

pytestmark = [pytest.mark.local_llm, pytest.mark.timeout(300)]

CONFIG = Path(__file__).resolve().parent.parent / "config" / "examples" / "local-llm.yaml"
WAIT_S = 180  # a 2-core machine shared with other work: generous, never hit when healthy


@pytest.fixture(scope="module")
def llama() -> Iterator[LlamaServer]:
    with LlamaServer() as server:
        yield server


def local_settings(base_url: str, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "provider": "openai",
        "api": "chat_completions",
        "api_key": "local-no-key",
        "base_url": base_url,
        "config_path": CONFIG,
        "jokes_seed": JOKES_SEED,
        "model_max_retries": 0,
        "model_timeout_s": 120.0,
        "data_dir": Path(tempfile.mkdtemp(prefix="agents-app-test-")),
        "log_level": "WARNING",
    }
    return Settings(**(base | overrides))


async def ask(engine: Engine, text: str, agent: str) -> list[dict[str, Any]]:
    async with live_server(engine) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(json.dumps({"type": "user.message", "text": text, "agent": agent}))
        return await recv_until(ws, is_terminal, wait_s=WAIT_S)


def no_deltas(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events if e["type"] != "text.delta"]


async def test_a_real_answer_streams_as_typed_events(llama: LlamaServer) -> None:
    events = await ask(
        Engine.from_settings(local_settings(llama.base_url)), "Hi! Who are you?", "chat"
    )
    assert_whole_run(events)
    assert no_deltas(events) == [
        "run.started",
        "message.started",
        "message.completed",
        "run.completed",
    ]
    deltas = [e["delta"] for e in events if e["type"] == "text.delta"]
    assert len(deltas) > 1 and all(deltas)  # streamed, never an empty delta
    message = next(e for e in events if e["type"] == "message.completed")
    assert message["text"] == "".join(deltas) and message["text"].strip()
    done = events[-1]
    assert done["final_output"] == message["text"]
    # llama.cpp ignores stream_options.include_usage: a streamed answer has no usage at all.
    assert done["usage"] == {
        "requests": 1,
        "input_tokens": None,
        "output_tokens": None,
        "total_tokens": None,
    }


async def test_a_forced_tool_call_runs_and_the_model_answers(llama: LlamaServer) -> None:
    # joker's tool_choice names its tool (chatml-function-calling streams only that kind);
    # the SDK resets it after the call, so the second request answers in text.
    events = await ask(
        Engine.from_settings(local_settings(llama.base_url)), "A joke about cats", "joker"
    )
    assert_whole_run(events)
    assert no_deltas(events) == [
        "run.started",
        "tool.call.started",
        "tool.call.completed",
        "message.started",
        "message.completed",
        "run.completed",
    ]
    started, completed = events[1], events[2]
    assert (started["tool"], started["arguments"]) == ("how_many_jokes", {})
    assert completed["call_id"] == started["call_id"] and completed["error"] is None
    assert completed["output"] == "3"  # JOKES_SEED
    assert events[-1]["usage"]["requests"] == 2 and events[-1]["usage"]["input_tokens"] is None


async def test_a_server_killed_mid_stream_ends_the_run_failed() -> None:
    with LlamaServer() as own:  # its own server: this one dies
        engine = Engine.from_settings(local_settings(own.base_url))
        async with live_server(engine) as live, live.connect() as ws:
            await ready(ws)
            text = "Write a long story about a dragon who learns to bake bread."
            await ws.send(json.dumps({"type": "user.message", "text": text, "agent": "story"}))
            events = await recv_until(ws, lambda e: e["type"] == "text.delta", wait_s=WAIT_S)
            own.kill()
            events += await recv_until(ws, is_terminal, wait_s=WAIT_S)
            with pytest.raises(TimeoutError):  # nothing after the terminal event
                await recv_json(ws, wait_s=1)
    assert_whole_run(events)
    failed = events[-1]
    assert failed["type"] == "run.failed"
    assert (failed["code"], failed["retryable"]) == ("model_error", True)
    assert "Traceback" not in failed["message"] and own.base_url not in failed["message"]
