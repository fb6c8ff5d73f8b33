"""One protocol, three entry points: the local WebSocket, the Cloud Function (through the
gateway emulator) and `POST /ag-ui` give the same answer to the same bad command."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from agents_app.engine import Engine
from agents_app.gateway.serve import RunningGateway
from tests.conftest import LiveServer, live_server, offline_settings, recv_json, recv_until
from tests.test_gateway import connect as gateway_connect
from tests.test_gateway import function_env, gateway  # noqa: F401 (fixtures)

LIMITS = {"rate_limit_burst": 4, "max_conversations_per_connection": 2}
ENV_LIMITS = {"AGENTS_RATE_BURST": "4", "AGENTS_MAX_CONVERSATIONS_PER_CONNECTION": "2"}


@dataclass
class Case:
    name: str
    frames: list[Any]  # sent in order; the answer to the last one is compared
    code: str
    agui: list[dict[str, Any]] = field(default_factory=list)  # the same, as RunAgentInput


def message(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"type": "user.message", "text": text, **extra}


def run_input(thread: str, run: str, text: str = "hi", **props: Any) -> dict[str, Any]:
    return {
        "threadId": thread,
        "runId": run,
        "messages": [{"id": "u1", "role": "user", "content": text}],
        "state": {},
        "tools": [],
        "context": [],
        "forwardedProps": props,
    }


CASES = [
    Case(
        "unknown agent",
        [message(agent="jokr")],
        "bad_request",
        [run_input("t-agent", "r-agent", agent="jokr")],
    ),
    Case("not a command", [{"type": "run.explode"}], "bad_request"),
    Case("a command missing a field", [{"type": "user.message"}], "bad_request"),
    Case("a negative seq", [{"type": "run.join", "run_id": "r", "after_seq": -1}], "bad_request"),
    Case("empty", ["   "], "bad_request"),
    Case("too large", ["x" * 40_000], "too_large"),
    Case("join an unknown run", [{"type": "run.join", "run_id": "run_nope"}], "not_found"),
    Case("join an empty conversation", [{"type": "run.join", "conversation_id": "c"}], "not_found"),
    Case("cancel nothing", [{"type": "run.cancel"}], "bad_request"),
    Case(
        "too many conversations",
        [message(agent="joker", conversation_id=f"conv-{i}") for i in range(3)],
        "rate_limited",
        [run_input(f"thread-{i}", f"run-{i}", agent="joker") for i in range(3)],
    ),
    Case(
        "too many frames",
        [{"type": "ping"}] * 5,
        "rate_limited",
        [run_input("t-rate", f"r-rate-{i}", agent="jokr") for i in range(5)],
    ),
]


def frame(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


async def answer_over(ws: Any, frames: list[Any]) -> dict[str, Any]:
    for value in frames[:-1]:
        await ws.send(frame(value))
        # Each earlier frame is answered before the next goes (a run, a pong or an error).
        await recv_until(ws, lambda e: e["type"] in {"run.completed", "pong", "error"})
    await ws.send(frame(frames[-1]))
    answers = await recv_until(ws, lambda e: e["type"] == "error")
    return answers[-1]


@pytest.fixture
async def local() -> AsyncIterator[LiveServer]:
    engine = Engine.from_settings(offline_settings(**LIMITS))
    async with live_server(engine) as live:
        yield live


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_every_transport_gives_the_same_answer(
    case: Case,
    local: LiveServer,
    gateway: RunningGateway,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in ENV_LIMITS.items():
        monkeypatch.setenv(name, value)
    async with local.connect() as ws:
        assert (await recv_json(ws))["type"] == "session.ready"
        over_socket = await answer_over(ws, case.frames)
    async with gateway_connect(gateway) as ws:
        await ws.send('{"type":"ping"}')  # the function greets on the first message
        assert (await recv_json(ws))["type"] == "session.ready"
        await recv_json(ws)
        over_function = await answer_over(ws, case.frames)
    assert over_socket["code"] == case.code, over_socket
    assert over_function == over_socket
    if not case.agui:
        return
    url = local.url.replace("ws://", "http://", 1) + "ag-ui"
    async with httpx.AsyncClient(timeout=10) as client:
        for body in case.agui:
            response = await client.post(url, json=body)
    assert response.json() == over_socket
    assert response.status_code == {"bad_request": 400, "rate_limited": 429}[case.code]


async def test_a_busy_conversation_is_the_same_answer_everywhere(
    gateway: RunningGateway,  # noqa: F811
) -> None:
    engine = Engine.from_settings(offline_settings(offline_pace_s=0.05))
    async with live_server(engine) as live, live.connect() as first, live.connect() as second:
        await recv_json(first)
        await recv_json(second)
        await first.send(json.dumps(message("Tell me a joke", conversation_id="busy-conv")))
        await recv_until(first, lambda e: e["type"] == "text.delta")
        await first.send(frame(message("again")))  # the same connection, mid-run
        same_connection = (await recv_until(first, lambda e: e["type"] == "error"))[-1]
        await second.send(frame(message("again", conversation_id="busy-conv")))
        over_socket = await recv_json(second)
        url = live.url.replace("ws://", "http://", 1) + "ag-ui"
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(url, json=run_input("busy-conv", "r-busy"))
    async with gateway_connect(gateway) as ws:
        await ws.send(json.dumps(message("Tell me a joke", conversation_id="busy-conv")))
        await recv_until(ws, lambda e: e["type"] == "text.delta")
        await ws.send(frame(message("again", conversation_id="busy-conv")))
        over_function = (await recv_until(ws, lambda e: e["type"] == "error"))[-1]
    assert over_socket["code"] == "busy"
    assert same_connection == over_socket == over_function == response.json()
    assert response.status_code == 409
