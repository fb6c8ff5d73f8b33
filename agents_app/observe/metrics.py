"""`Metrics`: the service's Prometheus instruments, in a registry of their own per engine.

One registry per engine rather than the library's global one: tests (and a process that
builds several engines) get figures that belong to their engine alone.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Runs last seconds to minutes; the first delta comes in tenths of a second to seconds.
RUN_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
FIRST_DELTA_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Counter(
            "agents_runs",
            "Runs ended, by the agent that began them and their outcome.",
            ["agent", "outcome"],
            registry=r,
        )
        self.run_seconds = Histogram(
            "agents_run_duration_seconds",
            "Time from run.started to the terminal event.",
            ["outcome"],
            buckets=RUN_BUCKETS,
            registry=r,
        )
        self.first_delta_seconds = Histogram(
            "agents_time_to_first_delta_seconds",
            "Time from run.started to the run's first text.delta.",
            buckets=FIRST_DELTA_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "agents_tokens",
            "Model tokens of completed runs, by the agent that answered and direction.",
            ["agent", "direction"],
            registry=r,
        )
        self.tool_calls = Counter(
            "agents_tool_calls",
            "Tool calls ended, by tool and outcome (ok or error).",
            ["tool", "outcome"],
            registry=r,
        )
        self.run_events = Counter(
            "agents_run_events",
            "Events runs emitted, before coalescing (compare with agents_frames_sent).",
            registry=r,
        )
        self.frames_sent = Counter(
            "agents_frames_sent",
            "Frames sent to clients, over every transport.",
            registry=r,
        )
        self.connections = Gauge(
            "agents_open_connections", "WebSocket connections open now.", registry=r
        )
        self.queue_waiting = Gauge(
            "agents_queue_waiting",
            "Clients of this instance waiting for a queued message to start (multitask enqueue).",
            registry=r,
        )

    def frame_sent(self) -> None:
        self.frames_sent.inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every figure."""
        return generate_latest(self.registry)
