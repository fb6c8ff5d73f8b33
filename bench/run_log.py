"""7. The run log: what it costs a run, and how fast a join replays it.

- CPU per joke run through the local server (as in `overhead`), with the run log written
  to the SQLite store as shipped, against the same path with appends dropped: the log's cost.
- Replay: a finished run of many events is joined (`Runs.follow`, what `run.join` does), from
  SQLite and from Redis; events per second read, parsed and handed to a subscriber.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents_app.engine import Engine
from agents_app.memory.store import ConversationStore, LoggedEvent, RunRecord
from agents_app.protocol.events import (
    RunCompleted,
    RunEvent,
    RunIds,
    RunStarted,
    TextDelta,
    Usage,
)
from agents_app.runs.registry import Runs
from bench.common import Row, on_service_loop
from bench.local_server import QUICK_RUNS, client_runs, offline_settings, serving
from bench.overhead import floor_cpu
from tools import jokes

NAME = "run_log"


class _Switch:
    """The store, with appends to the run log that can be dropped: the path without a log."""

    def __init__(self, store: ConversationStore) -> None:
        self._store = store
        self.logging = True

    async def append_events(self, run_id: str, cid: str, events: list[LoggedEvent]) -> None:
        if self.logging:
            await self._store.append_events(run_id, cid, events)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def log_cost(runs: int, rounds: int) -> tuple[float, float, float]:
    """(CPU per run with the log, without it, events per run): one server, batches of runs
    alternating between the two, so the server, its caches and the machine's drift are
    shared alike."""
    engine = Engine.from_settings(offline_settings(0.0))
    switch = _Switch(engine.store)
    engine._store = switch
    await floor_cpu(engine, 3, with_session=True)  # openai's models built before measuring
    cpu: dict[bool, list[float]] = {True: [], False: []}
    events = 0.0
    async with serving(engine) as url:
        await client_runs(url, 2)
        for round_ in range(rounds):
            for logging in (True, False):
                jokes.seed(round_)  # both tell the same jokes in a round (1 to 10 a run)
                switch.logging = logging
                started = time.process_time()
                result = await client_runs(url, runs)
                cpu[logging].append((time.process_time() - started) / runs)
                events = sum(run["frames"] for run in result["runs"]) / runs
    await engine.aclose()
    return min(cpu[True]), min(cpu[False]), events


class _Drop:
    """A subscriber that takes everything at once (the replay's own speed is measured)."""

    closed = False

    def __init__(self) -> None:
        self.count = 0

    def deliver(self, events: Sequence[RunEvent]) -> asyncio.Future[None]:
        self.count += len(events)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def prime(self, events: Sequence[RunEvent]) -> None:
        pass


async def replay_rate(url: str, events: int, rounds: int) -> float:
    """Events per second a join of a finished `events`-long run replays."""
    settings = offline_settings(0.0).model_copy(update={"session_store": url})
    engine = Engine.from_settings(settings)
    ids = RunIds(run_id="run_replay", conversation_id="c")
    rows: list[LoggedEvent] = [
        (1, RunStarted(**ids, seq=1, agent="joker", input="x").model_dump_json())
    ]
    for seq in range(2, events):
        delta = TextDelta(**ids, seq=seq, message_id="m", agent="joker", delta=f"word{seq} ")
        rows.append((seq, delta.model_dump_json()))
    done = RunCompleted(
        **ids, seq=events, agent="joker", final_output="", usage=Usage(), duration_ms=1
    )
    rows.append((events, done.model_dump_json()))
    for start in range(0, len(rows), 1000):
        await engine.store.append_events("run_replay", "c", rows[start : start + 1000])
    runs = Runs(engine)
    best = 0.0
    for _ in range(rounds):
        sink = _Drop()
        started = time.perf_counter()
        await runs.follow(RunRecord("run_replay", "c", running=False), sink)
        best = max(best, sink.count / (time.perf_counter() - started))
        assert sink.count == events
    await engine.aclose()
    return best


def _redis() -> tuple[subprocess.Popen[bytes], str] | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    process.kill()
    return None


def run(quick: bool = False) -> list[Row]:
    runs = QUICK_RUNS if quick else int(os.environ.get("BENCH_OVERHEAD_RUNS", "60"))
    rounds = 1 if quick else 5
    with_log, without, logged = on_service_loop(log_cost(runs, rounds))
    ratio = with_log / without
    events = 500 if quick else 20_000
    sqlite_url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='agents-bench-'))}/replay.db"
    rows = [
        Row(NAME, "joke run, log off: CPU/run", f"{without * 1000:.1f} ms"),
        Row(
            NAME,
            f"joke run, log on ({logged:.0f} events a run): CPU/run",
            f"{with_log * 1000:.1f} ms",
        ),
        Row(NAME, "log on / log off", f"{ratio:.2f}x", "<= 1.10x", ratio <= 1.10),
        Row(
            NAME,
            f"replay from SQLite ({events} events)",
            f"{on_service_loop(replay_rate(sqlite_url, events, rounds)):,.0f} events/s",
        ),
    ]
    redis = _redis()
    if redis is None:
        if os.environ.get("CI"):
            raise RuntimeError("redis-server is required in CI (make system-deps installs it)")
        rows.append(Row(NAME, "replay from Redis", "redis-server not installed"))
        return rows
    process, url = redis
    try:
        rate = on_service_loop(replay_rate(url, events, rounds))
    finally:
        process.kill()
        process.wait()
    rows.append(Row(NAME, f"replay from Redis ({events} events)", f"{rate:,.0f} events/s"))
    return rows
