"""`RunMeter`: watches one run's events on their way to its log, and at the terminal event
records the run's figures — in the Prometheus metrics, and as one `run.metrics` log line
(the Cloud Function has no scrape target; Cloud Logging charts the line instead)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import structlog

from agents_app.observe.metrics import Metrics
from agents_app.protocol.events import (
    RunCompleted,
    RunEvent,
    RunStarted,
    TerminalEvent,
    TextDelta,
    ToolCallCompleted,
)

log = structlog.get_logger("agents_app.metrics")


@dataclass
class RunMeter:
    metrics: Metrics
    started_at: float = field(default_factory=time.monotonic)
    agent: str = ""
    first_delta_s: float | None = None
    events: int = 0
    tool_calls: int = 0
    tool_errors: int = 0

    def see(self, event: RunEvent) -> None:
        self.events += 1
        if isinstance(event, TextDelta):
            if self.first_delta_s is None:
                self.first_delta_s = time.monotonic() - self.started_at
        elif isinstance(event, ToolCallCompleted):
            self._tool_ended(event)
        elif isinstance(event, RunStarted):
            self.started_at, self.agent = time.monotonic(), event.agent
        elif isinstance(event, TerminalEvent):
            self._ended(event)

    def _tool_ended(self, event: ToolCallCompleted) -> None:
        outcome = "ok" if event.error is None else "error"
        self.tool_calls += 1
        self.tool_errors += outcome == "error"
        self.metrics.tool_calls.labels(event.tool, outcome).inc()

    def _ended(self, event: TerminalEvent) -> None:
        m = self.metrics
        seconds = time.monotonic() - self.started_at
        outcome = event.type.removeprefix("run.")
        m.runs.labels(self.agent, outcome).inc()
        m.run_seconds.labels(outcome).observe(seconds)
        m.run_events.inc(self.events)
        if self.first_delta_s is not None:
            m.first_delta_seconds.observe(self.first_delta_s)
        tokens: dict[str, int | None] = {}
        if isinstance(event, RunCompleted):
            usage = event.usage
            # Unknown (null) is logged as null and left out of the counters: adding 0 would
            # make a provider that reports nothing look free.
            tokens = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}
            for direction, count in (
                ("input", usage.input_tokens),
                ("output", usage.output_tokens),
            ):
                if count is not None:
                    m.tokens.labels(event.agent, direction).inc(count)
        log.info(
            "run.metrics",
            outcome=outcome,
            agent=self.agent,
            duration_ms=round(seconds * 1000),
            first_delta_ms=None if self.first_delta_s is None else round(self.first_delta_s * 1000),
            tool_calls=self.tool_calls,
            tool_errors=self.tool_errors,
            events=self.events,
            **tokens,
        )
