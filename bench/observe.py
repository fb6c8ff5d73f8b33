"""8. What observing a run costs: metrics always, traces when OTEL_* asks for them.

CPU per joke run through the local server (as in `overhead`), in batches that alternate on
one server, so the server, its caches and the machine's drift are shared alike:
- as shipped (metrics on, OTEL_* unset: no tracer exists);
- the metrics' per-event meter switched off (what a run cost before metrics);
- traces on, exported over OTLP/HTTP to a receiver on loopback that decodes every payload
  (in another process: its CPU is not counted here, the exporter's is).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from agents_app.engine import Engine
from agents_app.observe.run_meter import RunMeter
from agents_app.observe.tracing import Tracing
from bench.common import ROOT, Row, on_service_loop
from bench.local_server import QUICK_RUNS, client_runs, offline_settings, serving
from bench.overhead import floor_cpu
from tools import jokes

NAME = "observe"
RECEIVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

class H(BaseHTTPRequestHandler):
    def do_POST(self):
        ExportTraceServiceRequest.FromString(self.rfile.read(int(self.headers["content-length"])))
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *a): pass

server = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def _receiver() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", RECEIVER], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    port = process.stdout.readline().strip()
    return process, f"http://127.0.0.1:{port}"


async def costs(runs: int, rounds: int) -> dict[str, float]:
    """Best CPU seconds per run of each mode."""
    process, endpoint = _receiver()
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    try:
        tracing = Tracing(content=False)  # built now, installed only for its batches
    finally:
        del os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"]
    engine = Engine.from_settings(offline_settings(0.0))
    assert engine.tracing is None  # as shipped: OTEL_* unset
    await floor_cpu(engine, 3, with_session=True)  # openai's models built before measuring
    see = RunMeter.see
    cpu: dict[str, list[float]] = {"shipped": [], "no meter": [], "traced": []}
    try:
        async with serving(engine) as url:
            await client_runs(url, 2)
            for round_ in range(rounds):
                for mode in cpu:
                    jokes.seed(round_)  # each mode tells the same jokes in a round
                    RunMeter.see = _skip if mode == "no meter" else see  # type: ignore[method-assign]
                    engine.tracing = tracing if mode == "traced" else None
                    if mode == "traced":
                        tracing.install()
                    started = time.process_time()
                    await client_runs(url, runs)
                    if mode == "traced":
                        tracing.flush()  # the export's CPU belongs to these runs
                    cpu[mode].append((time.process_time() - started) / runs)
                    engine.tracing = None
    finally:
        RunMeter.see = see  # type: ignore[method-assign]
        tracing.shutdown()
        process.kill()
        process.wait()
        await engine.aclose()
    return {mode: min(values) for mode, values in cpu.items()}


def _skip(self: RunMeter, event: Any) -> None:
    return None


def run(quick: bool = False) -> list[Row]:
    runs = QUICK_RUNS if quick else int(os.environ.get("BENCH_OVERHEAD_RUNS", "60"))
    rounds = 1 if quick else 5
    cpu = on_service_loop(costs(runs, rounds))
    metered = cpu["shipped"] / cpu["no meter"]
    traced = cpu["traced"] / cpu["shipped"]
    return [
        Row(NAME, "joke run, meter off: CPU/run", f"{cpu['no meter'] * 1000:.1f} ms"),
        Row(
            NAME,
            "joke run as shipped (metrics, no traces): CPU/run",
            f"{cpu['shipped'] * 1000:.1f} ms",
        ),
        Row(NAME, "metrics on / off", f"{metered:.2f}x", "<= 1.05x", metered <= 1.05),
        Row(NAME, "joke run traced (OTLP export): CPU/run", f"{cpu['traced'] * 1000:.1f} ms"),
        Row(NAME, "traced / as shipped", f"{traced:.2f}x"),
    ]
