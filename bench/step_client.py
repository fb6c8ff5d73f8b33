"""A WebSocket client in its own process that runs one joke each time it is told to.

`python -m bench.step_client URL TEXT` connects, then for each line on stdin sends `TEXT` in a
fresh conversation, reads every frame to the run's terminal event, and answers with one line:
the frames the run took. Told run by run, the benchmark can put each full-path run right
beside a run of the SDK alone, so a drift of the machine's speed hits both alike.
"""

from __future__ import annotations

import json
import sys
import uuid

from websockets.sync.client import connect
from websockets.sync.connection import Connection

TERMINAL = frozenset({"run.completed", "run.failed", "run.cancelled"})


def one_run(ws: Connection, text: str, conversation_id: str) -> int:
    """Frames read for one run; the run must complete with a gap-free seq."""
    ws.send(json.dumps({"type": "user.message", "text": text, "conversation_id": conversation_id}))
    frames, seqs = 0, []
    while True:
        event = json.loads(ws.recv(timeout=60))
        frames += 1
        if "seq" in event:
            seqs.append(event["seq"])
        kind = event.get("type")
        if kind == "error":
            raise RuntimeError(f"the server answered {event}")
        if kind in TERMINAL:
            if kind != "run.completed" or seqs != list(range(1, len(seqs) + 1)):
                raise RuntimeError(f"run {conversation_id} went wrong: {kind}, seq {seqs}")
            return frames


def main(url: str, text: str) -> None:
    with connect(url, max_size=None, open_timeout=10) as ws:
        ready = json.loads(ws.recv(timeout=10))
        if ready.get("type") != "session.ready":
            raise RuntimeError(f"expected session.ready, got {ready}")
        prefix = f"step-{uuid.uuid4().hex[:8]}"  # fresh conversations: no history to load
        for index, _ in enumerate(sys.stdin):
            print(one_run(ws, text, f"{prefix}-{index}"), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
