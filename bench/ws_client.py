"""A fast WebSocket client in its own process: sends runs one after another, reads every frame.

`python -m bench.ws_client URL RUNS TEXT` prints one JSON line: per run, each text delta's
arrival (`time.monotonic()`, CLOCK_MONOTONIC, comparable across processes on one machine)
with the message's cumulative characters, and the checks (gap-free seq, one terminal event).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from typing import Any

from websockets.sync.client import connect

TERMINAL = frozenset({"run.completed", "run.failed", "run.cancelled"})


def one_run(ws: Any, text: str, conversation_id: str) -> dict[str, Any]:
    ws.send(json.dumps({"type": "user.message", "text": text, "conversation_id": conversation_id}))
    arrivals: list[tuple[float, int]] = []  # (monotonic, cumulative chars of the message)
    chars: dict[str, int] = {}
    seqs: list[int] = []
    frames = 0
    while True:
        raw = ws.recv(timeout=60)
        now = time.monotonic()
        frames += 1
        event = json.loads(raw)
        kind = event.get("type")
        if kind == "error":
            raise RuntimeError(f"the server answered {event}")
        if "seq" in event:
            seqs.append(event["seq"])
        if kind == "text.delta":
            mid = event["message_id"]
            chars[mid] = chars.get(mid, 0) + len(event["delta"])
            arrivals.append((now, chars[mid]))
        if kind in TERMINAL:
            return {
                "terminal": kind,
                "frames": frames,
                "gap_free": seqs == list(range(1, len(seqs) + 1)),
                "arrivals": arrivals,
                "messages": len(chars),
            }


def main(url: str, runs: int, text: str) -> None:
    results = []
    with connect(url, max_size=None, open_timeout=10) as ws:
        ready = json.loads(ws.recv(timeout=10))
        if ready.get("type") != "session.ready":
            raise RuntimeError(f"expected session.ready, got {ready}")
        # Fresh conversations on every call: ids reused across calls (warm-up, rounds) would
        # give later runs a history to load and store that the SDK-alone floor never has.
        prefix = f"bench-{uuid.uuid4().hex[:8]}"
        started = time.monotonic()
        for index in range(runs):
            results.append(one_run(ws, text, f"{prefix}-{index}"))
        elapsed = time.monotonic() - started
    print(json.dumps({"elapsed_s": elapsed, "runs": results}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
