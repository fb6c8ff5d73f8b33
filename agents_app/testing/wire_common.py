"""Pieces both wire formats share: predictable ids and SSE framing."""

from __future__ import annotations

import itertools
import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any


class Ids:
    """Per-prefix counters (resp_1, msg_1, fc_1, call_1, …) so tests can assert exact ids."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: defaultdict[str, Iterator[int]] = defaultdict(lambda: itertools.count(1))

    def new(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}_{next(self._counters[prefix])}"


def sse(data: str, event: str | None = None) -> bytes:
    """Frame one server-sent event; every line of `data` gets its own `data:` field."""
    lines = [f"event: {event}"] if event is not None else []
    lines += [f"data: {line}" for line in data.split("\n")]
    return ("\n".join(lines) + "\n\n").encode()


def dumps(payload: Any) -> str:
    # Compact and single-line: an SSE `data:` field must not contain a raw newline.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
