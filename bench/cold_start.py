"""5. Cold start: a fresh interpreter until its first text delta reaches the Connection Service.

Ours: `import function; function.handler(MESSAGE)`, the way the platform loads and calls it.
The seed: `bench.seed_function`, which imports and builds what the tutorial's function.py does
at module level, then handles the message the tutorial's way. Both talk to the same scripted
model and loopback Connection Service (`bench.services`); the clock starts just before the
process is spawned and stops when the Connection Service receives the first text. Peak RSS
is the child's whole life after exec (VmHWM, reported by the child).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
import uuid

from bench.cold_import import SEED_IMPORTS
from bench.common import PYTHON, ROOT, Row, Services, bench_env

NAME = "cold start"

_CALL = """
import json, os, time
class Context:
    request_id = "bench"
    token = {"access_token": os.environ["BENCH_TOKEN"]}
    def get_remaining_time_in_millis(self):
        return 60000
event = json.loads(os.environ["BENCH_EVENT"])
answer = handler(event, Context())
assert answer["statusCode"] == 200, answer
"""
# Peak RSS since exec, from the child itself: a forked child's rusage would also count the
# parent's pages it carried until exec.
_PEAK = """
import re
print("peak_kib", re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
"""
OURS = "from function import handler\n" + _CALL + _PEAK
SEED = "from bench.seed_function import handler\n" + _CALL + _PEAK


def _event(connection_id: str, body: str) -> str:
    return json.dumps(
        {
            "requestContext": {"connectionId": connection_id, "eventType": "MESSAGE"},
            "headers": {},
            "body": body,
            "isBase64Encoded": False,
        }
    )


def one(services: Services, code: str, env: dict[str, str]) -> tuple[float, float]:
    """(seconds to the first delivered text, peak RSS in MiB) of one fresh process."""
    connection_id = uuid.uuid4().hex[:20]
    env = env | {"BENCH_EVENT": _event(connection_id, "go"), "BENCH_TOKEN": services.token}
    started = time.monotonic()
    proc = subprocess.Popen([PYTHON, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE)
    out, _ = proc.communicate(timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"cold start child failed with {proc.returncode}")
    first = services.command("counts")["first_text_at"].get(connection_id)
    if first is None:
        raise RuntimeError("the child never delivered text")
    return first - started, _peak_mib(out)


def _peak_mib(out: bytes) -> float:
    return int(out.decode().split("peak_kib")[-1].split()[0]) / 1024


def imports_only(code: str) -> tuple[float, float]:
    started = time.monotonic()
    done = subprocess.run(
        [PYTHON, "-c", code + _PEAK], cwd=ROOT, env=bench_env(), capture_output=True, check=True
    )
    return time.monotonic() - started, _peak_mib(done.stdout)


def run(quick: bool = False) -> list[Row]:
    repeats = 1 if quick else int(os.environ.get("BENCH_REPEATS", "5"))
    times: dict[str, list[float]] = {"ours": [], "seed": []}
    peaks: dict[str, list[float]] = {"ours": [], "seed": []}
    with Services(send_delay_s=0.0) as services:
        services.script(count=2 * repeats, deltas=50)
        ours_env = bench_env(
            AGENTS_PROVIDER="openai",
            API_KEY="bench",
            BASE_URL=services.openai_url,
            AGENTS_CONNECTIONS_ENDPOINT=services.grpc_target,
            AGENTS_CONNECTIONS_INSECURE="true",
        )
        seed_env = bench_env(
            API_KEY="bench",
            BASE_URL=services.openai_url,
            SEED_CONNECTIONS_ENDPOINT=services.grpc_target,
            SEED_TOKEN=services.token,
        )
        for _ in range(repeats):  # alternating, so drift hits both alike
            for name, code, env in (("seed", SEED, seed_env), ("ours", OURS, ours_env)):
                elapsed, peak = one(services, code, env)
                times[name].append(elapsed)
                peaks[name].append(peak)
    rows = _rows(times, peaks)
    if quick:
        return rows
    seed_import = [imports_only(SEED_IMPORTS) for _ in range(repeats)]
    ours_import = [imports_only("import function") for _ in range(repeats)]
    return [
        *rows,
        Row(
            NAME,
            "import only: seed's imports / import function",
            f"{statistics.median(t for t, _ in seed_import):.2f} s"
            f" ({max(p for _, p in seed_import):.0f} MB)"
            f" / {statistics.median(t for t, _ in ours_import):.2f} s"
            f" ({max(p for _, p in ours_import):.0f} MB)",
        ),
    ]


def _rows(times: dict[str, list[float]], peaks: dict[str, list[float]]) -> list[Row]:
    ours_s, seed_s = statistics.median(times["ours"]), statistics.median(times["seed"])
    ours_peak = max(peaks["ours"])
    return [
        Row(NAME, "seed: start → first delta", f"{seed_s:.2f} s, peak {max(peaks['seed']):.0f} MB"),
        Row(NAME, "ours: start → first delta", f"{ours_s:.2f} s"),
        Row(NAME, "ours / seed", f"{ours_s / seed_s:.2f}x", "<= 0.6x", ours_s / seed_s <= 0.6),
        Row(NAME, "ours: peak RSS", f"{ours_peak:.0f} MB", "<= 150 MB", ours_peak <= 150),
    ]
