"""A function instance warms up once, before its first message (AGENTS_WARM_UP).

Through the gateway emulator where it matters: a message that comes during the warm-up waits
for it and is answered; a broken config found by the warm-up makes the instance answer
`error{code:"unavailable"}`, not crash.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from agents_app.cloud import runtime as runtime_module
from agents_app.cloud import warmup
from agents_app.cloud.runtime import FunctionRuntime, get_runtime, reset_runtime
from agents_app.gateway.serve import RunningGateway, load_handler, running_gateway
from agents_app.settings import Settings
from tests.conftest import is_terminal, recv_json, recv_until

Warm = Callable[..., Coroutine[Any, Any, None]]


@pytest.fixture
def function_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("API_KEY", "FOLDER_ID", "BASE_URL", "MODEL_NAME", "AGENTS_WARM_UP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AGENTS_PROVIDER", "offline")
    monkeypatch.setenv("AGENTS_OFFLINE_PACE", "0")
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    monkeypatch.setenv("AGENTS_CONNECTIONS_ENDPOINT", "unset")
    monkeypatch.setenv("AGENTS_CONNECTIONS_INSECURE", "true")
    reset_runtime()
    yield
    reset_runtime()


class Gate:
    """Holds every warm-up until `open()`, counting them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started: list[bool] = []  # `rehearse` of each warm-up begun
        self.begun = threading.Event()
        self._open = threading.Event()
        real: Warm = warmup.warm

        async def held(runtime: FunctionRuntime, *, rehearse: bool) -> None:
            self.started.append(rehearse)
            self.begun.set()
            await asyncio.to_thread(self._open.wait, 30)
            await real(runtime, rehearse=rehearse)

        monkeypatch.setattr(warmup, "warm", held)

    def open(self) -> None:
        self._open.set()


class LaterHandler:
    """A handler whose function.py is loaded once the emulator has set the environment,
    the way the platform loads it (at load, `AGENTS_WARM_UP=load` starts warming)."""

    def __init__(self) -> None:
        self.handler: Callable[[Any, Any], dict[str, Any]] | None = None

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        assert self.handler is not None
        return self.handler(event, context)


@pytest.fixture
async def gateway(function_env: None) -> AsyncIterator[tuple[RunningGateway, LaterHandler]]:
    later = LaterHandler()
    async with running_gateway(later, port=0) as running:
        yield running, later


def connect(gateway: RunningGateway) -> Any:
    from websockets.asyncio.client import connect as ws_connect

    return ws_connect(gateway.url, open_timeout=10, max_size=None)


def test_concurrent_callers_share_one_warm_up(
    function_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(monkeypatch)
    runtime = get_runtime()
    callers = [
        threading.Thread(target=runtime.warm_up, kwargs={"rehearse": n == 0}) for n in range(4)
    ]
    for caller in callers:
        caller.start()
    assert gate.begun.wait(10)
    assert all(caller.is_alive() for caller in callers)  # all of them wait for the one
    gate.open()
    for caller in callers:
        caller.join(30)
    assert not any(caller.is_alive() for caller in callers)
    runtime.warm_up(rehearse=True)  # warm already: returns at once, starts nothing
    assert len(gate.started) == 1
    assert runtime._engine is not None  # built by the warm-up


async def test_message_during_warm_up_waits_for_it_and_is_answered(
    gateway: tuple[RunningGateway, LaterHandler],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    running, later = gateway
    monkeypatch.setenv("AGENTS_WARM_UP", "load")
    gate = Gate(monkeypatch)
    later.handler = load_handler()  # starts the warm-up in the background
    assert await asyncio.to_thread(gate.begun.wait, 10)
    async with connect(running) as ws:  # CONNECT does not wait in `load` mode
        await ws.send("Tell me a joke")
        with pytest.raises(TimeoutError):
            await recv_json(ws, wait_s=0.5)  # held: the warm-up has not ended
        gate.open()
        events = await recv_until(ws, is_terminal, wait_s=30)
    assert events[0]["type"] == "session.ready"
    assert events[-1]["type"] == "run.completed"
    assert gate.started == [True]  # the load's warm-up, and no second one for the message
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "{" in line]
    assert sum(1 for r in logged if r.get("event") == "warm_up.done") == 1


async def test_connect_warms_the_instance_before_answering(
    gateway: tuple[RunningGateway, LaterHandler],
) -> None:
    running, later = gateway
    later.handler = load_handler()
    assert runtime_module._runtime is None  # `connect` mode: loading starts nothing
    async with connect(running) as ws:
        runtime = runtime_module._runtime
        assert runtime is not None and runtime._engine is not None and runtime._runs is not None
        await ws.send("Tell me a joke")
        events = await recv_until(ws, is_terminal, wait_s=30)
    assert events[-1]["type"] == "run.completed"


async def test_off_leaves_connect_cheap_and_the_message_warms(
    gateway: tuple[RunningGateway, LaterHandler], monkeypatch: pytest.MonkeyPatch
) -> None:
    running, later = gateway
    monkeypatch.setenv("AGENTS_WARM_UP", "off")
    later.handler = load_handler()
    async with connect(running) as ws:
        assert runtime_module._runtime is None  # CONNECT built nothing
        await ws.send("Tell me a joke")
        events = await recv_until(ws, is_terminal, wait_s=30)
    assert events[-1]["type"] == "run.completed"


async def test_broken_config_makes_the_instance_unavailable_not_crashed(
    gateway: tuple[RunningGateway, LaterHandler],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = tmp_path / "agents.yaml"
    broken.write_text("version: 1\nstart: nobody\nagents: {}\n")
    monkeypatch.setenv("AGENTS_CONFIG", str(broken))
    running, later = gateway
    later.handler = load_handler()
    async with connect(running) as ws:  # the warm-up fails; the handshake is accepted
        answers = []
        for frame in ("Tell me a joke", "again"):
            await ws.send(frame)
            answers.append(await recv_json(ws))
    assert [(a["type"], a["code"]) for a in answers] == [("error", "unavailable")] * 2
    assert str(broken) not in json.dumps(answers)  # the reason is the operator's, not the client's
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "{" in line]
    problems = [r for r in logged if r.get("event") == "config.invalid"]
    assert len(problems) == 1 and "agents config" in problems[0]["problem"]
    assert not [r for r in logged if r.get("event") in ("function.crashed", "warm_up.failed")]


def test_warm_up_setting_is_validated() -> None:
    assert Settings().warm_up == "connect"
    assert Settings(AGENTS_WARM_UP="both").warm_up == "both"  # type: ignore[call-arg]
    with pytest.raises(ValueError, match=r"AGENTS_WARM_UP"):
        Settings(AGENTS_WARM_UP="sometimes")  # type: ignore[call-arg]
