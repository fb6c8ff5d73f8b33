"""1. Forwarding: ours against the seed loop, through a Connection Service taking 20 ms a Send.

The same scripted 400-delta stream, 1 and 4 concurrent streams, three ways:
- seed: `bench.seed_function` — a blocking Send per delta, a client fetched per delta;
- ours: `function.handler` called from worker threads as the platform calls it
  (runtime loop → run_turn → translator → forwarder → async gRPC sink);
- floor: the same stream from `Runner.run_streamed`, consumed and dropped (no forwarding).
Times are wall time until every frame is acknowledged by the Connection Service.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agents_app.testing.configs import unguarded_config
from bench.common import PYTHON, ROOT, Row, Services, bench_env

NAME = "forwarding"


def gateway_message(connection_id: str, body: str) -> dict[str, Any]:
    return {
        "requestContext": {"connectionId": connection_id, "eventType": "MESSAGE"},
        "headers": {},
        "body": body,
        "isBase64Encoded": False,
    }


def _connection_ids(count: int) -> list[str]:
    return [uuid.uuid4().hex[:20] for _ in range(count)]


class Ours:
    """`function.handler` against the services, with the environment it reads when deployed."""

    def __init__(self, services: Services) -> None:
        os.environ.update(
            {
                "AGENTS_PROVIDER": "openai",
                "API_KEY": "bench",
                "BASE_URL": services.openai_url,
                "AGENTS_CONNECTIONS_ENDPOINT": services.grpc_target,
                "AGENTS_CONNECTIONS_INSECURE": "true",
                "LOG_LEVEL": "WARNING",
                "AGENTS_CONFIG": str(unguarded_config()),  # see bench_env
            }
        )
        from agents_app.cloud.runtime import get_runtime, reset_runtime
        from agents_app.gateway.emulator import InvocationContext
        from function import handler

        reset_runtime()
        self._handler = handler
        self._context = InvocationContext
        self._token = services.token
        self.runtime = get_runtime()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="invoke")

    def streams(self, count: int) -> tuple[float, list[str]]:
        ids = _connection_ids(count)

        def invoke(connection_id: str) -> dict[str, Any]:
            context = self._context(
                deadline=time.monotonic() + 120,
                token={"access_token": self._token, "expires_in": 3600, "token_type": "Bearer"},
            )
            return self._handler(gateway_message(connection_id, "go"), context)

        started = time.perf_counter()
        answers = list(self._pool.map(invoke, ids))
        elapsed = time.perf_counter() - started
        if any(a["statusCode"] != 200 for a in answers):
            raise RuntimeError(f"handler answered {answers}")
        return elapsed, ids

    def floor(self, count: int) -> float:
        """The same stream with no forwarding: the SDK's events consumed and dropped."""
        from agents import Runner

        engine = self.runtime.engine

        async def consume() -> None:
            result = Runner.run_streamed(
                engine.graph.agent(None), "go", run_config=engine.run_config()
            )
            async for _ in result.stream_events():
                pass

        async def all_of() -> float:
            started = time.perf_counter()
            await asyncio.gather(*(consume() for _ in range(count)))
            return time.perf_counter() - started

        return self.runtime.submit(all_of()).result(timeout=120)

    def close(self) -> None:
        from agents_app.cloud.runtime import reset_runtime

        self._pool.shutdown()
        reset_runtime()
        for name in (
            "AGENTS_PROVIDER",
            "API_KEY",
            "BASE_URL",
            "AGENTS_CONNECTIONS_ENDPOINT",
            "AGENTS_CONFIG",
        ):
            os.environ.pop(name, None)


def seed_streams(services: Services, count: int) -> tuple[float, list[str]]:
    """The seed loop in its own process (see `bench.seed_function.main`), timed inside it."""
    env = bench_env(
        SEED_CONNECTIONS_ENDPOINT=services.grpc_target,
        SEED_TOKEN=services.token,
        BASE_URL=services.openai_url,
        API_KEY="bench",
    )
    done = subprocess.run(
        [PYTHON, "-m", "bench.seed_function", str(count)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return float(answer["elapsed_s"]), list(answer["ids"])


def _sends(services: Services, ids: list[str], deltas: int) -> tuple[int, int]:
    """Total Sends the Connection Service took for these connections; checks the text."""
    counts = services.command("counts")
    chars = len("".join(f"w{i} " for i in range(deltas)))
    for cid in ids:
        if counts["text_chars"].get(cid) != chars:
            raise RuntimeError(f"{cid}: {counts['text_chars'].get(cid)} of {chars} chars arrived")
    return sum(counts["sends"][cid] for cid in ids), len(ids)


# A paced stream: 5 ms between events (200 deltas/s), still faster than hosted models stream.
PACE_S = 0.005


def run(quick: bool = False) -> list[Row]:
    deltas = 20 if quick else 400
    repeats = 1 if quick else int(os.environ.get("BENCH_REPEATS", "5"))
    rows: list[Row] = []
    with Services(send_delay_s=0.02) as services:
        ours = Ours(services)
        try:
            services.script(count=2, deltas=deltas)
            ours.streams(1)  # warm: the first run in a process builds openai's models
            ours.floor(1)
            for count in (1, 4):
                services.script(count=count * repeats * 2, deltas=deltas)
                ours_s, floor_s, sends = _ours_and_floor(ours, services, count, repeats, deltas)
                rows += _rows(f"{count} stream{'s' if count > 1 else ''}", ours_s, floor_s, sends)
                if quick and count > 1:
                    continue  # the smoke run spawns the seed's process once
                services.script(count=count, deltas=deltas)
                seed_s, seed_ids = seed_streams(services, count)
                seed_sends = _sends(services, seed_ids, deltas)[0] / count
                rows[-1:-1] = _seed_rows(count, seed_s, seed_sends, ours_s)
            for count in (1, 4):
                pace = PACE_S
                services.script(count=count * repeats * 2, deltas=deltas, delay_s=pace)
                ours_s, floor_s, sends = _ours_and_floor(ours, services, count, repeats, deltas)
                label = f"{count} stream{'s' if count > 1 else ''} paced {pace * 1000:.0f} ms"
                rows += _rows(label, ours_s, floor_s, sends)
        finally:
            ours.close()
    return rows


def _ours_and_floor(
    ours: Ours, services: Services, count: int, repeats: int, deltas: int
) -> tuple[float, float, float]:
    """Medians of `repeats` alternating measurements, and the Sends per stream."""
    ours_s, floor_s, sends = [], [], []
    for _ in range(repeats):
        elapsed, ids = ours.streams(count)
        ours_s.append(elapsed)
        sends.append(_sends(services, ids, deltas)[0] / count)
        floor_s.append(ours.floor(count))
    return statistics.median(ours_s), statistics.median(floor_s), statistics.median(sends)


def _seed_rows(count: int, seed: float, seed_sends: float, ours: float) -> list[Row]:
    label = f"{count} stream{'s' if count > 1 else ''}"
    return [
        Row(NAME, f"{label}: seed loop", f"{seed:.3f} s, {seed_sends:.0f} Sends/stream"),
        Row(NAME, f"{label}: seed / ours", f"{seed / ours:.1f}x", ">= 30x", seed / ours >= 30),
    ]


def _rows(label: str, ours: float, floor: float, sends: float) -> list[Row]:
    return [
        Row(NAME, f"{label}: ours", f"{ours:.3f} s, {sends:.0f} Sends/stream"),
        Row(NAME, f"{label}: no forwarding (SDK alone)", f"{floor:.3f} s"),
        Row(
            NAME,
            f"{label}: ours / no forwarding",
            f"{ours / floor:.2f}x",
            "<= 1.15x",
            ours / floor <= 1.15,
        ),
    ]
