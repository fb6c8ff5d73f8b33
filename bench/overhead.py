"""4. Overhead over the SDK: CPU per joke run, full path against openai-agents alone.

Floor: the triage→joker→tool→text run straight from `Runner.run_streamed`, events dropped.
Full path: the same run through the local server (translator, run log, forwarder, JSON
encoder, WebSocket) to a client in another process that reads every frame. Both on the
offline model at zero pace, in this process, one run at a time; CPU is this process's
user+system time. The server keeps conversation history (an SDK session from the engine's
conversation store), so the floor runs with the same store's session; the SDK without any
session is shown too.

This machine's speed drifts by a third within minutes (a shared VM), more than the goal's
margin. So the three are measured in short rounds that alternate on one server, and the
ratio is the median of each round's full / floor: a drift hits both halves of a round alike.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from dataclasses import dataclass

from agents import Runner

from agents_app.engine import Engine
from bench.common import Row
from bench.local_server import JOKE, QUICK_RUNS, client_runs, offline_settings, serving

NAME = "overhead"


async def floor_cpu(engine: Engine, runs: int, *, with_session: bool) -> float:
    """CPU seconds per run of the SDK alone."""
    agent, config = engine.graph.agent(None), engine.run_config()
    started = time.process_time()
    for index in range(runs):
        session = engine.store.session(f"floor-{time.time_ns()}-{index}") if with_session else None
        result = Runner.run_streamed(agent, JOKE, run_config=config, session=session)
        async for _ in result.stream_events():
            pass
        if session is not None:
            await engine.store.release_session(session)
    return (time.process_time() - started) / runs


async def full_cpu(url: str, runs: int) -> tuple[float, float]:
    """CPU seconds per run through the server at `url`, and the frames a run cost."""
    started = time.process_time()
    result = await client_runs(url, runs)
    spent = time.process_time() - started
    return spent / runs, statistics.mean(run["frames"] for run in result["runs"])


def system_s() -> float:
    """This process's CPU time in the kernel so far (clock ticks: sum it over many runs)."""
    return os.times().system


@dataclass
class Measured:
    floor: float  # medians over the rounds, CPU seconds per run
    bare: float
    full: float
    ratio: float  # median of the rounds' full / floor
    frames: float  # per run, through the server
    floor_system: float  # kernel CPU per run, over all rounds (socket writes, SQLite I/O)
    full_system: float


async def measure(runs: int, rounds: int) -> Measured:
    engine = Engine.from_settings(offline_settings(0.0))
    await floor_cpu(engine, 3, with_session=True)  # the first runs build openai's models
    floors, bare, full, ratios, frames = [], [], [], [], []
    floor_system = full_system = 0.0
    async with serving(engine) as url:
        await client_runs(url, 1)  # connection set-up and first-run costs out of the way
        for _ in range(rounds):
            before = system_s()
            floors.append(await floor_cpu(engine, runs, with_session=True))
            floor_system += system_s() - before
            bare.append(await floor_cpu(engine, runs, with_session=False))
            before = system_s()
            cpu, per_run = await full_cpu(url, runs)
            full_system += system_s() - before
            full.append(cpu)
            frames.append(per_run)
            ratios.append(cpu / floors[-1])
    await engine.aclose()
    median = statistics.median
    return Measured(
        median(floors),
        median(bare),
        median(full),
        median(ratios),
        median(frames),
        floor_system / (runs * rounds),
        full_system / (runs * rounds),
    )


def run(quick: bool = False) -> list[Row]:
    runs = QUICK_RUNS if quick else int(os.environ.get("BENCH_OVERHEAD_RUNS", "20"))
    rounds = 1 if quick else int(os.environ.get("BENCH_OVERHEAD_ROUNDS", "11"))
    m = asyncio.run(measure(runs, rounds))
    return [
        Row(NAME, "SDK alone, no session: CPU/run", f"{m.bare * 1000:.1f} ms"),
        Row(NAME, "SDK alone + the same session store (floor): CPU/run", f"{m.floor * 1e3:.1f} ms"),
        Row(
            NAME,
            "full path (server + WebSocket): CPU/run",
            f"{m.full * 1000:.1f} ms, {m.frames:.1f} frames/run (v1 client)",
        ),
        Row(
            NAME,
            f"full path / floor (median of {rounds} paired rounds)",
            f"{m.ratio:.2f}x",
            "<= 1.15x",
            m.ratio <= 1.15,
        ),
        Row(NAME, "full path / SDK without session", f"{m.full / m.bare:.2f}x"),
        # Each frame's send on loopback delivers to the reading client inside the syscall.
        Row(
            NAME,
            "of the CPU/run, in the kernel: floor / full path",
            f"{m.floor_system * 1000:.1f} ms / {m.full_system * 1000:.1f} ms",
        ),
    ]
