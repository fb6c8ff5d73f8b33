"""Cold import of function.py against the tutorial's imports, in fresh interpreters.

Run: .venv/bin/python bench/cold_import.py [runs]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED_IMPORTS = """
from agents import Agent, OpenAIProvider, Runner, RunConfig, function_tool, set_tracing_disabled
from openai import AsyncOpenAI
from openai.types.responses import ResponseTextDeltaEvent
from yandex.cloud.serverless.apigateway.websocket.v1.connection_service_pb2 import (
    SendToConnectionRequest,
)
from yandex.cloud.serverless.apigateway.websocket.v1.connection_service_pb2_grpc import (
    ConnectionServiceStub,
)
from yandexcloud import SDK
"""


def timed(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    return time.perf_counter() - started


def main(runs: int) -> None:
    seed = [timed(SEED_IMPORTS) for _ in range(runs)]
    ours = [timed("import function") for _ in range(runs)]
    seed_s, ours_s = statistics.median(seed), statistics.median(ours)
    print(f"runs: {runs} (median wall time of a fresh interpreter, interpreter start included)")
    print(f"seed imports:     {seed_s:.3f} s")
    print(f"import function:  {ours_s:.3f} s")
    print(f"ratio:            {ours_s / seed_s:.2f}x the seed ({seed_s / ours_s:.1f}x faster)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
