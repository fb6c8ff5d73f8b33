"""What every benchmark shares: result rows, the services process, percentiles, the machine."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from agents_app.event_loop import loop_name, new_event_loop
from agents_app.settings import Settings
from agents_app.testing.configs import unguarded_config

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
T = TypeVar("T")


@dataclass(frozen=True)
class Row:
    """One figure of one benchmark; `met` is None where the figure has no goal."""

    bench: str
    metric: str
    value: str
    goal: str = ""
    met: bool | None = None

    @property
    def verdict(self) -> str:
        return {None: "", True: "met", False: "MISSED"}[self.met]


def on_service_loop(main: Coroutine[Any, Any, T]) -> T:
    """`main` to its end on the loop the service runs on (uvloop): what a benchmark measures
    in this process, the floor included, costs what it costs when served."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: a reported p99 is a latency that happened)."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def rss_kib(pid: int) -> int:
    """Resident memory of a live process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a live process has used, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def machine() -> str:
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    cpu = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kib / 1024 / 1024:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"event loop: {_loop()}"
    )


def _loop() -> str:
    loop = new_event_loop()
    try:
        return loop_name(loop)
    finally:
        loop.close()


def beyond_defaults(*limits: str) -> int:
    """One more than the largest served default of these `Settings` limits.

    A full run goes far past them; a quick run of this size meets them too, so the smoke
    test fails when a benchmark forgets to lift a limit its full run needs lifted.
    """
    return 1 + max(int(Settings.model_fields[name].default) for name in limits)


def bench_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: quiet logs, no credentials leaking in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"API_KEY", "FOLDER_ID", "BASE_URL", "MODEL_NAME"}
        and not k.startswith("AGENTS_")
    }
    # The graph without its guardrails: benchmarks time our path against the seed's single
    # model stream, and the scripted model has no verdicts for the shipped judge.
    defaults = {"AGENTS_CONFIG": str(unguarded_config())}
    env.update({"LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}, **(defaults | extra))
    return env


class Services:
    """`bench.services` in a child process: a Connection Service and a scripted model."""

    def __init__(self, send_delay_s: float) -> None:
        self._proc = subprocess.Popen(
            [PYTHON, "-m", "bench.services", str(send_delay_s)],
            cwd=ROOT,
            env=bench_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        ready = self._read()
        self.grpc_target: str = ready["grpc"]
        self.openai_url: str = ready["openai"]
        self.token: str = ready["token"]

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"bench.services exited with {self._proc.wait()}")
        answer = json.loads(line)
        assert isinstance(answer, dict)
        return answer

    def command(self, cmd: str, **args: Any) -> dict[str, Any]:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self._proc.stdin.flush()
        return self._read()

    def script(self, count: int, deltas: int, delay_s: float = 0.0) -> None:
        """Queue `count` model replies of `deltas` text deltas, `delay_s` between events."""
        self.command("script", count=count, deltas=deltas, delay_s=delay_s)

    def script_jokes(self, count: int, delay_s: float = 0.0) -> None:
        """Queue the model replies of `count` joke runs (handoff, tool call, a short joke)."""
        self.command("script_jokes", count=count, delay_s=delay_s)

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
