"""2. Latency on the local server: model text delta → the client's frame, p50 and p99.

The offline model (paced at 2 ms a word, faster than hosted models stream) is wrapped so the
moment it yields each text delta is recorded; a fast client in another process stamps each
`text.delta` frame on arrival. Both clocks are CLOCK_MONOTONIC. A model delta's latency is
the arrival of the first frame whose text reaches past that delta's last character (a
coalesced frame serves several deltas, each measured from its own yield).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from agents import Model, ModelProvider
from openai.types.responses import ResponseTextDeltaEvent

from agents_app.engine import Engine
from agents_app.models.offline import OfflineModelProvider
from bench.common import Row, on_service_loop, percentile
from bench.local_server import QUICK_RUNS, client_runs, offline_settings, serving

NAME = "latency"
PACE_S = 0.002


class TimedModel(Model):
    """Passes the inner model's stream through, noting when each text delta leaves it."""

    def __init__(self, inner: Model, log: list[list[tuple[float, int]]]) -> None:
        self._inner = inner
        self._log = log

    async def get_response(self, *args: Any, **kwargs: Any) -> Any:
        return await self._inner.get_response(*args, **kwargs)

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        deltas: list[tuple[float, int]] = []
        chars = 0
        async for event in self._inner.stream_response(*args, **kwargs):
            if isinstance(event, ResponseTextDeltaEvent) and event.delta:
                chars += len(event.delta)
                deltas.append((time.monotonic(), chars))
            yield event
        if deltas:
            self._log.append(deltas)


class TimedProvider(ModelProvider):
    def __init__(self, inner: ModelProvider, log: list[list[tuple[float, int]]]) -> None:
        self._inner = inner
        self._log = log

    def get_model(self, model_name: str | None) -> Model:
        return TimedModel(self._inner.get_model(model_name), self._log)


def latencies(model_side: list[list[tuple[float, int]]], runs: list[dict[str, Any]]) -> list[float]:
    """Milliseconds from each model delta to the frame that carried its end."""
    frames = [run["arrivals"] for run in runs if run["arrivals"]]
    if len(frames) != len(model_side):
        raise RuntimeError(f"{len(model_side)} model messages but {len(frames)} on the client")
    out = []
    for sent, received in zip(model_side, frames, strict=True):
        if sent[-1][1] != received[-1][1]:
            raise RuntimeError("the client's text differs from the model's")
        index = 0
        for at, chars in sent:
            while received[index][1] < chars:
                index += 1
            out.append((received[index][0] - at) * 1000)
    return out


async def measure(runs: int) -> list[float]:
    log: list[list[tuple[float, int]]] = []
    settings = offline_settings(PACE_S)
    base = Engine.from_settings(settings)
    timed = replace(base.backend, provider=TimedProvider(OfflineModelProvider(pace_s=PACE_S), log))
    engine = Engine(settings=settings, graph=base.graph, backend=timed)
    async with serving(engine) as url:
        await client_runs(url, 2)  # the first runs build openai's models
        log.clear()
        result = await client_runs(url, runs)
    await engine.aclose()
    return latencies(log, result["runs"])


def run(quick: bool = False) -> list[Row]:
    runs = QUICK_RUNS if quick else int(os.environ.get("BENCH_LATENCY_RUNS", "40"))
    samples = on_service_loop(measure(runs))
    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    return [
        Row(NAME, "deltas measured", f"{len(samples)}"),
        Row(NAME, "model delta → client frame p50", f"{p50:.2f} ms", "< 2 ms", p50 < 2),
        Row(NAME, "model delta → client frame p99", f"{p99:.2f} ms", "< 20 ms", p99 < 20),
        Row(NAME, "max", f"{max(samples):.2f} ms"),
    ]
