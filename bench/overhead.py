"""4. Overhead over the SDK: CPU per joke run, full path against openai-agents alone.

Floor: the triage→joker→tool→text run straight from `Runner.run_streamed`, events dropped.
Full path: the same run through the local server (translator, forwarder, JSON encoder,
WebSocket) to a client in another process that reads every frame. Both on the offline model
at zero pace, in this process, one run at a time; CPU is this process's user+system time.
The server keeps conversation history (an SDK session from the engine's conversation store),
so the floor runs with the same store's session; the SDK without any session is shown too.
"""

from __future__ import annotations

import asyncio
import os
import time

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


async def full_cpu(engine: Engine, runs: int) -> float:
    async with serving(engine) as url:
        await client_runs(url, 1)  # connection set-up and first-run costs out of the way
        started = time.process_time()
        await client_runs(url, runs)
        spent = time.process_time() - started
    return spent / runs


async def measure(runs: int, rounds: int) -> tuple[float, float, float]:
    engine = Engine.from_settings(offline_settings(0.0))
    await floor_cpu(engine, 3, with_session=True)  # the first runs build openai's models
    floors, bare, full = [], [], []
    for _ in range(rounds):  # alternating, so drift hits all three alike
        floors.append(await floor_cpu(engine, runs, with_session=True))
        bare.append(await floor_cpu(engine, runs, with_session=False))
        full.append(await full_cpu(engine, runs))
    await engine.aclose()
    return min(floors), min(bare), min(full)


def run(quick: bool = False) -> list[Row]:
    runs = QUICK_RUNS if quick else int(os.environ.get("BENCH_OVERHEAD_RUNS", "60"))
    rounds = 1 if quick else 3
    floor, bare, full = asyncio.run(measure(runs, rounds))
    ratio = full / floor
    return [
        Row(NAME, "SDK alone, no session: CPU/run", f"{bare * 1000:.1f} ms"),
        Row(NAME, "SDK alone + the same session store (floor): CPU/run", f"{floor * 1000:.1f} ms"),
        Row(NAME, "full path (server + WebSocket): CPU/run", f"{full * 1000:.1f} ms"),
        Row(NAME, "full path / floor", f"{ratio:.2f}x", "<= 1.15x", ratio <= 1.15),
        Row(NAME, "full path / SDK without session", f"{full / bare:.2f}x"),
    ]
