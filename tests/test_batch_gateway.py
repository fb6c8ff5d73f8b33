"""Batch frames through the deployed code path: the connect URL's `?batch=1` reaches only
the CONNECT invocation, so the function keeps it in the store for the connection's messages,
on whichever instance they land."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents_app.cloud.runtime import reset_runtime
from agents_app.gateway.emulator import Handler
from agents_app.gateway.serve import load_handler, running_gateway
from agents_app.testing import Reply, ScriptedOpenAIServer, Text
from tests.conftest import assert_whole_run, is_terminal
from tests.test_batch_frames import Received, recv_events
from tests.test_gateway import function_env

__all__ = ["function_env"]  # the fixture, shared with test_gateway

WORDS = [f"w{i} " for i in range(400)]
GO = json.dumps({"type": "user.message", "text": "go", "agent": "joker"})


def recording(handler: Handler, seen: list[dict[str, Any]]) -> Handler:
    def record(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(event)
        return handler(event, context)

    return record


async def test_the_emulator_gives_the_query_string_to_connect_only(
    function_env: dict[str, str],
) -> None:
    seen: list[dict[str, Any]] = []
    async with (
        running_gateway(recording(load_handler(), seen), port=0) as running,
        connect_to(running.url + "?batch=1&lang=ru") as ws,
    ):
        await ws.send('{"type":"ping"}')
        assert json.loads(await ws.recv())["type"] == "session.ready"
        assert json.loads(await ws.recv()) == {"type": "pong"}
    reset_runtime()
    by_type = {e["requestContext"]["eventType"]: e for e in seen}
    assert by_type["CONNECT"]["queryStringParameters"] == {"batch": "1", "lang": "ru"}
    assert by_type["CONNECT"]["multiValueQueryStringParameters"]["batch"] == ["1"]
    for kind in ("MESSAGE", "DISCONNECT"):
        assert "queryStringParameters" not in by_type[kind]
        assert "multiValueQueryStringParameters" not in by_type[kind]


def connect_to(url: str) -> Any:
    from websockets.asyncio.client import connect as ws_connect

    return ws_connect(url, open_timeout=5, max_size=None)


async def stream(url: str, *, new_instance: bool) -> Received:
    async with connect_to(url) as ws:
        if new_instance:
            # The message lands on an instance that never saw this connection's CONNECT.
            reset_runtime()
        await ws.send(GO)
        return await recv_events(ws, is_terminal, wait_s=20)


@pytest.mark.parametrize(
    ("new_instance", "in_answer"),
    [(False, True), (True, True), (False, False)],
    ids=["same-instance", "other-instance", "every-frame-a-send"],
)
async def test_the_function_remembers_batch_from_connect(
    function_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    new_instance: bool,
    in_answer: bool,
) -> None:
    if not in_answer:
        monkeypatch.setenv("AGENTS_ANSWER_LAST_FRAME", "false")
    with ScriptedOpenAIServer() as srv:
        srv.enqueue(*[Reply([Text("".join(WORDS), chunks=WORDS)]) for _ in range(2)])
        monkeypatch.setenv("AGENTS_PROVIDER", "openai")
        monkeypatch.setenv("API_KEY", "sk-test")
        monkeypatch.setenv("BASE_URL", srv.base_url)
        # 20 ms a Send, as the benchmark's Connection Service: events pile up meanwhile.
        async with running_gateway(load_handler(), port=0, send_delay_s=0.02) as running:
            plain = await stream(running.url, new_instance=new_instance)
            plain_sends = sum(running.registry.sends.values())
            running.registry.sends.clear()
            batched = await stream(running.url + "?batch=1", new_instance=new_instance)
            batched_sends = sum(running.registry.sends.values())
    reset_runtime()
    for got in (plain, batched):
        assert_whole_run(got.events)
        text = "".join(e["delta"] for e in got.events if e["type"] == "text.delta")
        assert text == "".join(WORDS)
    assert plain.arrays == 0 and "batch" not in plain.events[0]["features"]
    assert plain_sends == plain.frames  # a v1 client: every frame a Send, as before
    first = batched.events[0]
    assert first["type"] == "session.ready" and "batch" in first["features"]
    assert batched.arrays >= 1
    assert batched.frames < len(batched.events)  # some messages carried several events
    # The last frame (with run.completed) came as the invocation's answer, not a Send.
    assert batched_sends == batched.frames - (1 if in_answer else 0)
    assert batched_sends < plain_sends


async def test_the_function_lets_events_without_text_wait_for_company(
    function_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Long enough that nothing on this machine outlasts it: the run's first events all wait
    # for its first words (the default is 100 ms).
    monkeypatch.setenv("AGENTS_BATCH_LINGER_MS", "1000")
    async with (
        running_gateway(load_handler(), port=0) as running,
        connect_to(running.url + "?batch=1") as ws,
    ):
        await ws.send("Tell me a joke about cats")
        first = json.loads(await ws.recv())
        second = json.loads(await ws.recv())
        rest = await recv_events(ws, is_terminal)
    reset_runtime()
    assert first["type"] == "session.ready"
    assert isinstance(second, list)
    types = [e["type"] for e in second]
    assert types[:2] == ["run.started", "agent.switched"] and "text.delta" in types
    assert_whole_run([first, *second, *rest.events])


async def test_the_function_sends_a_paced_answer_at_its_text_interval(
    function_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    words = [f"w{i} " for i in range(30)]  # a word every 20 ms: a hosted model's pace
    monkeypatch.setenv("AGENTS_PROVIDER", "openai")
    monkeypatch.setenv("API_KEY", "sk-test")
    sends: dict[str, int] = {}
    for interval in ("0", "100"):
        monkeypatch.setenv("AGENTS_BATCH_TEXT_INTERVAL_MS", interval)
        with ScriptedOpenAIServer() as srv:
            srv.enqueue(Reply([Text("".join(words), chunks=words)], delay_s=0.02))
            monkeypatch.setenv("BASE_URL", srv.base_url)
            async with running_gateway(load_handler(), port=0) as running:
                got = await stream(running.url + "?batch=1", new_instance=False)
                sends[interval] = sum(running.registry.sends.values())
        reset_runtime()
        assert_whole_run(got.events)
        assert "".join(e["delta"] for e in got.events if e["type"] == "text.delta") == "".join(
            words
        )
    # ~0.6 s of text: a Send a word or so without the interval, one per 100 ms with it.
    assert sends["100"] * 2 < sends["0"], sends
