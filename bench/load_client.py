"""The load generator of benchmark 3, a process of its own on loopback.

`python -m bench.load_client URL CONNECTIONS RATE SECONDS` talks to the runner in lines:
it warms the server up with one run and prints `{"phase": "warm"}`; on `open` it opens
CONNECTIONS WebSockets and prints `{"phase": "idle"}`; on `go` it starts RATE runs a
second for SECONDS, spread round-robin over the connections, waits (bounded) for every
run to end, and prints the result. Every frame is read and checked: each run must arrive
whole, in order, with gap-free `seq`, ending in run.completed. Delta latency is the
arrival time (wall clock, ms) minus the event's `ts` (stamped when the server created it).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

EXPECTED = [
    "run.started",
    "agent.switched",
    "tool.call.started",
    "tool.call.completed",
    "message.started",
    "text.delta",
    "message.completed",
    "run.completed",
]
OPEN_AT_ONCE = 50
DRAIN_S = 30.0


@dataclass
class Tally:
    completed: int = 0
    bad: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    events: int = 0


class Client:
    """One connection: sends a run when told, reads and checks every frame."""

    def __init__(self, ws: ClientConnection, tally: Tally) -> None:
        self.ws = ws
        self.tally = tally
        self.busy = False
        self.done = asyncio.Event()
        self._kinds: list[str] = []
        self._seqs: list[int] = []

    async def start_run(self, text: str) -> None:
        self.busy = True
        self.done.clear()
        self._kinds, self._seqs = [], []
        await self.ws.send(text)

    async def read(self) -> None:
        async for raw in self.ws:
            now_ms = time.time() * 1000
            event = json.loads(raw)
            kind = event["type"]
            self.tally.events += 1
            if "seq" not in event:
                continue  # session.ready
            if kind == "text.delta":
                self.tally.latencies_ms.append(now_ms - event["ts"])
            if not self._kinds or self._kinds[-1] != kind:
                self._kinds.append(kind)
            self._seqs.append(event["seq"])
            if kind in {"run.completed", "run.failed", "run.cancelled"}:
                self._finish()

    def _finish(self) -> None:
        if self._kinds != EXPECTED:
            self.tally.bad.append(f"events {self._kinds}")
        elif self._seqs != list(range(1, len(self._seqs) + 1)):
            self.tally.bad.append(f"seq {self._seqs}")
        else:
            self.tally.completed += 1
        self.busy = False
        self.done.set()


async def open_client(url: str, tally: Tally) -> tuple[Client, asyncio.Task[None]]:
    ws = await connect(url, open_timeout=30, max_size=None, ping_interval=None)
    ready = json.loads(await ws.recv())
    if ready.get("type") != "session.ready":
        raise RuntimeError(f"expected session.ready, got {ready}")
    client = Client(ws, tally)
    return client, asyncio.create_task(client.read())


def say(**message: Any) -> None:
    print(json.dumps(message), flush=True)


async def main(url: str, connections: int, rate: float, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    warm_tally = Tally()
    warm, warm_reader = await open_client(url, warm_tally)
    await warm.start_run("Tell me a joke about benchmarks")
    await asyncio.wait_for(warm.done.wait(), 30)
    say(phase="warm", ok=warm_tally.completed == 1)
    await loop.run_in_executor(None, sys.stdin.readline)  # "open"

    tally = Tally()
    clients: list[Client] = []
    readers: list[asyncio.Task[None]] = []
    for start in range(0, connections, OPEN_AT_ONCE):
        batch = min(OPEN_AT_ONCE, connections - start)
        opened = await asyncio.gather(*(open_client(url, tally) for _ in range(batch)))
        clients += [client for client, _ in opened]
        readers += [reader for _, reader in opened]
    say(phase="idle", opened=len(clients))
    await loop.run_in_executor(None, sys.stdin.readline)  # "go"

    total = int(rate * seconds)
    skipped = 0
    started = time.monotonic()
    for index in range(total):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        client = clients[index % len(clients)]
        if client.busy:
            skipped += 1
            continue
        await client.start_run(f"Tell me a joke about load test {index}")
    sent_s = time.monotonic() - started
    try:
        async with asyncio.timeout(DRAIN_S):
            for client in clients:
                await client.done.wait() if client.busy else None
    except TimeoutError:
        tally.bad.append("runs still open after the drain timeout")
    for client in [*clients, warm]:
        await client.ws.close()
    await asyncio.gather(*readers, warm_reader, return_exceptions=True)
    say(
        phase="done",
        scheduled=total,
        skipped=skipped,
        completed=tally.completed,
        bad=tally.bad[:5],
        bad_count=len(tally.bad),
        events=tally.events,
        latencies_ms=tally.latencies_ms,
        sending_s=sent_s,
        total_s=time.monotonic() - started,
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])))
