"""6. Translator + JSON encoder throughput, on one core.

The SDK events of real joke runs (offline model, zero pace) are recorded once, then replayed
through a fresh `Translator` per run, and every protocol event it yields is stamped with a
seq and encoded with `encode_json`, as the forwarder does. The figure is protocol events
(frames) per CPU second; the SDK events fed in per second are shown beside it. Held text is
flushed after every SDK event, as for a paced model (each word its own event): the worst
case per event. A live burst goes out as a few merged deltas instead.
"""

from __future__ import annotations

import asyncio
import os
import time

from agents import Runner, StreamEvent

from agents_app.engine import Engine, TurnContext
from agents_app.protocol.encoders import encode_json
from agents_app.stream.translator import Translator
from bench.common import Row
from bench.local_server import JOKE, offline_settings

NAME = "throughput"


async def record(engine: Engine, runs: int) -> list[list[StreamEvent]]:
    recorded = []
    for _ in range(runs):
        result = Runner.run_streamed(engine.graph.agent(None), JOKE, run_config=engine.run_config())
        recorded.append([event async for event in result.stream_events()])
    return recorded


def replay(
    engine: Engine, recorded: list[list[StreamEvent]], seconds: float
) -> tuple[int, int, float]:
    """(protocol events, SDK events, CPU seconds) of replaying for about `seconds`."""
    graph = engine.graph
    produced = consumed = 0
    started = time.process_time()
    while time.process_time() - started < seconds:
        for index, events in enumerate(recorded):
            translator = Translator(
                run_id=f"run_{index}",
                conversation_id="bench",
                agent=graph.agent(None),
                agent_id_of=graph.id_of,
                tool_errors=TurnContext().tool_errors,
                output_limit=engine.settings.tool_output_limit,
            )
            seq = 0
            for event in events:
                for out in [*translator.translate(event), *translator.flush()]:
                    seq += 1
                    out.seq = seq
                    encode_json(out)
                    produced += 1
            consumed += len(events)
    return produced, consumed, time.process_time() - started


def run(quick: bool = False) -> list[Row]:
    engine = Engine.from_settings(offline_settings(0.0))
    recorded = asyncio.run(record(engine, 2 if quick else 10))
    seconds = 0.2 if quick else float(os.environ.get("BENCH_THROUGHPUT_S", "5"))
    produced, consumed, cpu = replay(engine, recorded, seconds)
    rate = produced / cpu
    return [
        Row(NAME, "SDK events in", f"{consumed / cpu:,.0f} /s"),
        Row(
            NAME,
            "protocol events out (translated + JSON)",
            f"{rate:,.0f} /s",
            ">= 50,000 /s",
            rate >= 50_000,
        ),
    ]
