"""4. Overhead over the SDK: CPU per joke run, full path against openai-agents alone.

Floor: the triage→joker→tool→text run straight from `Runner.run_streamed`, events dropped,
with an SDK session from the engine's conversation store (the server keeps history, so the
floor does too). Full path: the same run through the local server (dispatcher, run registry,
run log, translator, outbox, JSON encoder, WebSocket) to a client in another process that
reads every frame (`step_client.py`). Both on the offline model at zero pace, in this
process; CPU is this process's user+system time.

Between the two, where the rest goes: `run_turn` alone (translator and guard, events
dropped) and the run registry (its lock, run log, cancel watcher, meter; no client).

This machine's speed drifts by a third within minutes (a shared VM), more than the goal's
margin. So the variants take turns run by run, each telling the same number of jokes in a
turn: a drift hits each alike, and the ratio is of the sums over all runs. The spread is the
ratio over each block of 20 turns.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from agents import Runner

from agents_app.engine import Engine
from agents_app.runs.execute import run_turn
from agents_app.runs.registry import Runs
from agents_app.runs.turn import Turn
from bench.common import PYTHON, ROOT, Row, bench_env, on_service_loop
from bench.local_server import JOKE, QUICK_RUNS, offline_settings, serving
from tools import jokes

NAME = "overhead"
BLOCK = 20  # turns per block, for the spread
WARM_UP = 5  # turns before measuring: openai's models built, connections and caches warm

OneRun = Callable[[], Awaitable[object]]


class StepClient:
    """`bench.step_client` in a child process: one joke run each time `run` is awaited."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> StepClient:
        self._proc = await asyncio.create_subprocess_exec(
            PYTHON,
            "-m",
            "bench.step_client",
            self._url,
            JOKE,
            cwd=ROOT,
            env=bench_env(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return self

    async def run(self) -> int:
        """Frames the run took."""
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(b"run\n")
        await self._proc.stdin.drain()
        line = await asyncio.wait_for(self._proc.stdout.readline(), 60)
        if not line:
            raise RuntimeError(f"bench.step_client exited with {await self._proc.wait()}")
        return int(line)

    async def __aexit__(self, *_: object) -> None:
        assert self._proc is not None and self._proc.stdin
        self._proc.stdin.close()
        if await asyncio.wait_for(self._proc.wait(), 30) != 0:
            raise RuntimeError(f"bench.step_client exited with {self._proc.returncode}")


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"  # every run starts from an empty history


def sdk_alone(engine: Engine, *, with_session: bool) -> OneRun:
    agent, config = engine.graph.agent(None), engine.run_config()

    async def one() -> None:
        session = engine.store.session(fresh("floor")) if with_session else None
        result = Runner.run_streamed(agent, JOKE, run_config=config, session=session)
        async for _ in result.stream_events():
            pass
        if session is not None:
            await engine.store.release_session(session)

    return one


async def floor_cpu(engine: Engine, runs: int, *, with_session: bool) -> float:
    """CPU seconds per run of the SDK alone, `runs` in a row (others warm up with it)."""
    one = sdk_alone(engine, with_session=with_session)
    started = time.process_time()
    for _ in range(runs):
        await one()
    return (time.process_time() - started) / runs


def turn_alone(engine: Engine) -> OneRun:
    async def one() -> None:
        conversation_id = fresh("turn")
        session = engine.store.session(conversation_id)
        await run_turn(
            Turn(conversation_id, JOKE), engine=engine, emit=lambda _: None, session=session
        )
        await engine.store.release_session(session)

    return one


def registry_alone(engine: Engine) -> OneRun:
    runs = Runs(engine)

    async def one() -> None:
        run = await runs.start(Turn(fresh("registry"), JOKE))
        assert run is not None
        await run.task

    return one


@dataclass
class Spent:
    """CPU seconds of each measured run of one variant, and its kernel part in all."""

    cpu: list[float] = field(default_factory=list)
    system: float = 0.0

    async def measure(self, one: OneRun) -> object:
        system, started = os.times().system, time.process_time()
        out = await one()
        self.cpu.append(time.process_time() - started)
        self.system += os.times().system - system  # clock ticks: meaningful summed only
        return out

    @property
    def per_run(self) -> float:
        return sum(self.cpu) / len(self.cpu)

    @property
    def kernel_per_run(self) -> float:
        return self.system / len(self.cpu)

    def ratio(self, floor: Spent) -> float:
        return sum(self.cpu) / sum(floor.cpu)

    def spread(self, floor: Spent) -> tuple[float, float]:
        blocks = [
            sum(self.cpu[i : i + BLOCK]) / sum(floor.cpu[i : i + BLOCK])
            for i in range(0, len(self.cpu), BLOCK)
        ]
        return min(blocks), max(blocks)


VARIANTS = ("bare", "floor", "turn", "registry", "full")


async def measure(runs: int) -> tuple[dict[str, Spent], float]:
    """Each variant `runs` times, taking turns; and the frames of a full-path run."""
    engine = Engine.from_settings(offline_settings(0.0))
    spent = {name: Spent() for name in VARIANTS}
    frames: list[int] = []
    async with serving(engine) as url, StepClient(url) as client:

        async def full() -> None:
            frames.append(await client.run())

        one: dict[str, OneRun] = {
            "bare": sdk_alone(engine, with_session=False),
            "floor": sdk_alone(engine, with_session=True),
            "turn": turn_alone(engine),
            "registry": registry_alone(engine),
            "full": full,
        }
        for _ in range(WARM_UP):
            for name in VARIANTS:
                await one[name]()
        frames.clear()
        for turn in range(runs):
            for name in VARIANTS:
                # The same jokes for every variant of a turn: a run tells 1 to 10 of them,
                # and its CPU follows the count more than anything measured here.
                jokes.seed(turn)
                await spent[name].measure(one[name])
    await engine.aclose()
    return spent, sum(frames) / len(frames)


def run(quick: bool = False) -> list[Row]:
    runs = QUICK_RUNS if quick else int(os.environ.get("BENCH_OVERHEAD_RUNS", "200"))
    spent, frames = on_service_loop(measure(runs))
    floor, full = spent["floor"], spent["full"]
    low, high = full.spread(floor)

    def step(name: str, before: str) -> str:
        return f"+{(spent[name].ratio(floor) - spent[before].ratio(floor)) * 100:.0f} %"

    return [
        Row(NAME, "SDK alone, no session: CPU/run", f"{spent['bare'].per_run * 1000:.1f} ms"),
        Row(
            NAME,
            "SDK alone + the same session store (floor): CPU/run",
            f"{floor.per_run * 1e3:.1f} ms",
        ),
        Row(
            NAME,
            "full path (server + WebSocket): CPU/run",
            f"{full.per_run * 1000:.1f} ms, {frames:.1f} frames/run (v1 client)",
        ),
        Row(
            NAME,
            f"full path / floor ({runs} runs each, taking turns)",
            f"{full.ratio(floor):.2f}x (blocks of {BLOCK}: {low:.2f}-{high:.2f}x)",
            "<= 1.15x",
            full.ratio(floor) <= 1.15,
        ),
        Row(NAME, "full path / SDK without session", f"{full.ratio(spent['bare']):.2f}x"),
        Row(
            NAME,
            "of the floor: run_turn (translator, guard) / run registry (lock, run log) / server",
            f"{step('turn', 'floor')} / {step('registry', 'turn')} / {step('full', 'registry')}",
        ),
        # Each frame's send on loopback delivers to the reading client inside the syscall.
        Row(
            NAME,
            "of the CPU/run, in the kernel: floor / full path",
            f"{floor.kernel_per_run * 1e3:.1f} ms / {full.kernel_per_run * 1e3:.1f} ms",
        ),
    ]
