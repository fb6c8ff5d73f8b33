"""3. Load: one `agents-app serve` process, offline model at zero pace, 1,000 connections.

The server and the load generator (`bench.load_client`) are separate processes on loopback.
Resident memory per idle connection is the server's RSS growth from a warmed-up server with
one connection to the same server holding all of them, divided by their number.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from typing import Any

from bench.common import PYTHON, ROOT, Row, bench_env, beyond_defaults, cpu_s, percentile, rss_kib

NAME = "load"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"agents-app serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("agents-app serve did not become healthy")


class Generator:
    def __init__(self, url: str, connections: int, rate: float, seconds: float) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "bench.load_client", url, str(connections), str(rate), str(seconds)],
            cwd=ROOT,
            env=bench_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def expect(self, phase: str) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"bench.load_client exited with {self.proc.wait()}")
        message = json.loads(line)
        if message.get("phase") != phase:
            raise RuntimeError(f"expected {phase}, got {message}")
        assert isinstance(message, dict)
        return message

    def tell(self, word: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(word + "\n")
        self.proc.stdin.flush()


def run(quick: bool = False) -> list[Row]:
    # The quick run opens more connections than the default per-address cap too (plus the
    # warm-up's), so the smoke test meets that cap as the full run does.
    connections = beyond_defaults("max_connections_per_client") if quick else 1000
    rate, seconds = (10.0, 1.0) if quick else (20.0, 60.0)
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="agents-bench-")
    # One load generator stands in for 1,000 clients: the per-address connection cap (an
    # abuse limit) is raised to fit them; everything else is the served default.
    env = bench_env(
        AGENTS_PROVIDER="offline",
        AGENTS_OFFLINE_PACE="0",
        AGENTS_JOKES_SEED="1",
        AGENTS_MAX_CONNECTIONS_PER_CLIENT=str(connections + 10),
        AGENTS_DATA_DIR=data_dir,
    )
    server = subprocess.Popen(
        [PYTHON, "-m", "agents_app", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_healthy(port, server)
        generator = Generator(f"ws://127.0.0.1:{port}/", connections, rate, seconds)
        try:
            if not generator.expect("warm")["ok"]:
                raise RuntimeError("the warm-up run failed")
            time.sleep(0.5)
            rss_before = rss_kib(server.pid)
            generator.tell("open")
            opened = generator.expect("idle")["opened"]
            time.sleep(1.0)
            rss_idle = rss_kib(server.pid)
            cpu_before = cpu_s(server.pid)
            generator.tell("go")
            result = generator.expect("done")
            cpu_used = cpu_s(server.pid) - cpu_before
            rss_after = rss_kib(server.pid)
        finally:
            generator.proc.kill()
            generator.proc.wait()
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
    return _rows(result, opened, rss_before, rss_idle, rss_after, cpu_used)


def _rows(
    result: dict[str, Any],
    opened: int,
    rss_before: int,
    rss_idle: int,
    rss_after: int,
    cpu_used: float,
) -> list[Row]:
    latencies = result["latencies_ms"]
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    per_connection = (rss_idle - rss_before) / opened
    whole = result["completed"] == result["scheduled"] and result["bad_count"] == 0
    return [
        Row(NAME, "connections open", f"{opened}"),
        Row(
            NAME,
            "runs complete, in order, gap-free",
            f"{result['completed']} of {result['scheduled']} "
            f"({result['bad_count']} bad, {result['skipped']} skipped)",
            "all",
            whole,
        ),
        Row(NAME, "frames read", f"{result['events']:,}"),
        Row(NAME, "delta latency p50", f"{p50:.1f} ms"),
        Row(NAME, "delta latency p99", f"{p99:.1f} ms", "< 250 ms", p99 < 250),
        Row(
            NAME,
            "RSS per idle connection",
            f"{per_connection:.1f} KiB ({rss_before / 1024:.0f} → {rss_idle / 1024:.0f} MB)",
            "< 64 KiB",
            per_connection < 64,
        ),
        Row(
            NAME,
            "server CPU during load",
            f"{cpu_used:.1f} s over {result['total_s']:.1f} s; RSS after {rss_after / 1024:.0f} MB",
        ),
    ]


if __name__ == "__main__":
    for row in run(quick=os.environ.get("BENCH_QUICK") == "1"):
        print(row)
