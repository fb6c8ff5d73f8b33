"""The local server in the benchmark's own process, and the fast client beside it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agents_app.engine import Engine
from agents_app.logs import configure_logging
from agents_app.server.app import create_app
from agents_app.server.in_loop import serving as serving_app
from agents_app.settings import Settings
from agents_app.testing.configs import unguarded_config
from bench.common import PYTHON, ROOT, bench_env, beyond_defaults

JOKE = "Tell me a joke about programming"
# What one client connection meets in a full run: 20 to 60 messages (overhead, latency,
# observe) sent back to back, each opening a conversation of its own. Quick runs send one more
# than the largest default, so `make bench` cannot meet a limit the smoke test never met.
PER_CONNECTION_LIMITS = ("rate_limit_burst", "max_conversations_per_connection")
QUICK_RUNS = beyond_defaults(*PER_CONNECTION_LIMITS)


def offline_settings(pace_s: float) -> Settings:
    """All the benchmark's runs come from one client on one connection, each run in a fresh
    conversation of its own (every run starts from an empty history): the per-connection
    abuse limits (`PER_CONNECTION_LIMITS`, and the rate's refill with its burst) are lifted,
    and conversations are stored in a temporary directory."""
    settings = Settings(
        provider="offline",
        offline_pace_s=pace_s,
        jokes_seed=1,
        log_level="WARNING",
        rate_limit_per_minute=1e9,
        rate_limit_burst=1_000_000,
        max_conversations_per_connection=1_000_000,
        data_dir=Path(tempfile.mkdtemp(prefix="agents-bench-")),
        config_path=unguarded_config(),  # see bench_env
    )
    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=[])
    return settings


@contextlib.asynccontextmanager
async def serving(engine: Engine) -> AsyncIterator[str]:
    """`create_app(engine)` under uvicorn on 127.0.0.1, on this loop; yields the ws:// URL."""
    # Without per-message deflate, as `agents-app serve` runs it.
    app = create_app(engine)
    async with serving_app(app, lifespan="off", ws_per_message_deflate=False) as served:
        yield served.url()


async def client_runs(url: str, runs: int, text: str = JOKE) -> dict[str, Any]:
    """`bench.ws_client` in a child process; this loop keeps serving while it runs."""
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "bench.ws_client",
        url,
        str(runs),
        text,
        cwd=ROOT,
        env=bench_env(),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.ws_client exited with {proc.returncode}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    for index, run in enumerate(result["runs"]):
        if run["terminal"] != "run.completed" or not run["gap_free"]:
            raise RuntimeError(f"run {index} went wrong: {run['terminal']}, {run['gap_free']}")
    assert isinstance(result, dict)
    return result
