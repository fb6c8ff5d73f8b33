"""Runs across processes sharing Redis: a run started on one server, joined on another."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from agents_app.engine import Engine
from agents_app.runs import follow
from tests.conftest import JOKES_SEED, is_terminal, live_server, offline_settings, recv_until
from tests.redis_server import RedisServer, _free_port

ROOT = Path(__file__).resolve().parent.parent
JOKE = "Tell me a joke about programming"


class ServerProcess:
    """`agents-app serve` in its own process, as a second instance would run."""

    def __init__(self, redis_url: str, tmp_path: Path, pace_s: float) -> None:
        self.port = _free_port()
        self.url = f"ws://127.0.0.1:{self.port}/"
        env = {k: v for k, v in os.environ.items() if k not in {"API_KEY", "FOLDER_ID"}}
        env |= {
            "SESSION_STORE": redis_url,
            "AGENTS_DATA_DIR": str(tmp_path),
            "AGENTS_PROVIDER": "offline",
            "AGENTS_OFFLINE_PACE": str(pace_s),
            "AGENTS_JOKES_SEED": str(JOKES_SEED),
            "AGENTS_RUN_LOCK_TTL": "2",
            "AGENTS_PORT": str(self.port),
            "LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agents_app", "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def ready(self) -> None:
        async with asyncio.timeout(30):
            while True:
                try:
                    async with connect(self.url, open_timeout=1):
                        return
                except OSError:
                    await asyncio.sleep(0.1)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


@pytest.fixture
def other_process(redis_server: RedisServer, tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(redis_server.url, tmp_path / "other", pace_s=0.03)
    yield server
    server.stop()


def here(redis_server: RedisServer) -> Engine:
    return Engine.from_settings(offline_settings(session_store=redis_server.url))


async def start_and_drop(url: str) -> list[dict[str, Any]]:
    async with connect(url, max_size=None) as ws:
        await ws.recv()  # session.ready
        await ws.send(json.dumps({"type": "user.message", "text": JOKE, "conversation_id": "c"}))
        seen = await recv_until(ws, lambda e: e["type"] == "text.delta")
    return seen


async def test_a_run_started_on_one_server_is_joined_on_another(
    redis_server: RedisServer, other_process: ServerProcess
) -> None:
    await other_process.ready()
    seen = await start_and_drop(other_process.url)
    async with live_server(here(redis_server)) as live, live.connect() as ws:
        await ws.recv()
        await ws.send(
            json.dumps(
                {"type": "run.join", "run_id": seen[0]["run_id"], "after_seq": seen[-1]["seq"]}
            )
        )
        rest = await recv_until(ws, is_terminal, wait_s=20)
        # A finished run, replayed whole on this server too.
        await ws.send(json.dumps({"type": "run.join", "conversation_id": "c"}))
        replay = await recv_until(ws, is_terminal)
    events = seen + rest
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert rest[-1]["type"] == "run.completed"
    assert replay == events
    texts = {e["message_id"]: e["text"] for e in events if e["type"] == "message.completed"}
    streamed: dict[str, str] = {}
    for e in events:
        if e["type"] == "text.delta":
            streamed[e["message_id"]] = streamed.get(e["message_id"], "") + e["delta"]
    assert streamed == texts != {}


async def test_a_run_whose_process_died_ends_for_its_followers(
    redis_server: RedisServer, other_process: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follow, "ORPHAN_AFTER_S", 1.0)
    await other_process.ready()
    seen = await start_and_drop(other_process.url)
    other_process.stop()  # the instance running it is gone, mid-answer
    async with live_server(here(redis_server)) as live, live.connect() as ws:
        await ws.recv()
        join = {"type": "run.join", "run_id": seen[0]["run_id"], "after_seq": seen[-1]["seq"]}
        await ws.send(json.dumps(join))
        rest = await recv_until(ws, is_terminal, wait_s=20)
    events = seen + rest
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert rest[-1]["type"] == "run.failed" and rest[-1]["retryable"] is True
