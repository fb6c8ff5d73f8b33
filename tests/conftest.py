"""Shared fixtures: an offline engine, a live local server on 127.0.0.1, a WebSocket client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from agents_app.engine import Engine
from agents_app.event_loop import new_event_loop
from agents_app.server.app import create_app
from agents_app.server.in_loop import Served, serving
from agents_app.settings import Settings
from agents_app.testing import ScriptedOpenAIServer
from agents_app.testing.configs import unguarded_config
from tests.web_fakes import fake_web_settings, runtime_for
from tools.web import client as web_client

# The joke run, text deltas left out: what every transport must deliver, in this order.
JOKE_RUN_TYPES = [
    "run.started",
    "agent.switched",
    "tool.call.started",
    "tool.call.completed",
    "message.started",
    "message.completed",
    "run.completed",
]
JOKES_SEED = 1  # how_many_jokes() → 3 with this seed (checked in test_tools)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every async test on the loop the service runs on (uvloop), not asyncio's own."""
    return {"service loop": new_event_loop}


def offline_settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        # Each engine its own conversation store, so tests never share memory.
        "data_dir": Path(tempfile.mkdtemp(prefix="agents-app-test-")),
        "provider": "offline",
        "offline_pace_s": 0.0,
        "jokes_seed": JOKES_SEED,
        "log_level": "WARNING",
    }
    return Settings(**(base | overrides))


def scripted_settings(srv: ScriptedOpenAIServer) -> Settings:
    """The scripted model, unguarded, and no retries: each scripted reply is used once."""
    return offline_settings(
        provider="openai",
        api_key="sk-test",
        base_url=srv.base_url,
        model_max_retries=0,
        config_path=unguarded_config(),
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A local_llm test that skips has failed: whoever asked for the real model must know it
    did not run (make test-local-llm)."""
    report = yield
    if report.skipped and item.get_closest_marker("local_llm") is not None:
        report.outcome = "failed"
        report.longrepr = f"local_llm tests must not skip: {report.longrepr}"
    return report


@pytest.fixture(autouse=True)
def _no_real_web() -> Iterator[None]:
    """No test reaches the real web: names never resolve and only 127.0.0.1 can be dialled.

    Tests of the web tools install their own runtime (pointing at a fake web on 127.0.0.1).
    """
    previous = web_client.configure(runtime_for(fake_web_settings())[0])
    yield
    web_client.configure(previous)


@pytest.fixture
def settings() -> Settings:
    return offline_settings()


@pytest.fixture
def engine(settings: Settings) -> Engine:
    return Engine.from_settings(settings)


class LiveServer:
    def __init__(self, served: Served) -> None:
        self.url = served.url()

    def connect(self, query: str = "") -> Any:
        return connect(self.url + query, max_size=None, open_timeout=5)


@contextlib.asynccontextmanager
async def live_server(engine: Engine) -> AsyncIterator[LiveServer]:
    app = create_app(engine)
    ws_max_size = max(4 * engine.settings.max_frame_bytes, 1 << 20)
    async with serving(app, lifespan="off", ws_max_size=ws_max_size) as served:
        yield LiveServer(served)


@pytest.fixture
async def server(engine: Engine) -> AsyncIterator[LiveServer]:
    async with live_server(engine) as live:
        yield live


async def recv_json(ws: ClientConnection, wait_s: float = 10) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), wait_s)
    data = json.loads(raw)
    assert isinstance(data, dict)
    return data


async def recv_until(
    ws: ClientConnection, stop: Callable[[dict[str, Any]], bool], wait_s: float = 10
) -> list[dict[str, Any]]:
    """Collect events up to and including the first one matching `stop`."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(wait_s):
        while True:
            event = await recv_json(ws)
            events.append(event)
            if stop(event):
                return events


def is_terminal(event: dict[str, Any]) -> bool:
    return event["type"] in {"run.completed", "run.failed", "run.cancelled", "run.interrupted"}


async def ready(ws: ClientConnection) -> dict[str, Any]:
    """The greeting every local connection starts with."""
    event = await recv_json(ws)
    assert event["type"] == "session.ready"
    return event


def assert_whole_run(events: list[dict[str, Any]]) -> None:
    """The run events among `events` are one run: seq 1..n without gaps or repeats, and
    exactly one terminal event, last."""
    run = [e for e in events if "run_id" in e]
    assert [e["seq"] for e in run] == list(range(1, len(run) + 1))
    assert len({e["run_id"] for e in run}) == 1
    assert sum(is_terminal(e) for e in run) == 1 and is_terminal(run[-1])


@pytest.fixture
def redis_server() -> Any:
    from tests.redis_server import RedisServer

    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedOpenAIServer]:
    """One scripted OpenAI-compatible server per test module (starting one costs ~0.15 s)."""
    with ScriptedOpenAIServer() as server:
        yield server


@pytest.fixture
def srv(scripted: ScriptedOpenAIServer) -> Iterator[ScriptedOpenAIServer]:
    """The module's scripted server, with an empty script and request log.

    A reply that failed validation (drift) fails the test that scripted it, at teardown: the
    app only saw a 500, which tests of failure handling accept.
    """
    scripted.reset()
    yield scripted
    scripted.check()
