"""Metrics an operator can use: `GET /metrics` (Prometheus), and one `run.metrics` log line
per run where there is nothing to scrape (the Cloud Function)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agents_app.engine import Engine
from agents_app.observe.metrics import Metrics
from agents_app.observe.run_meter import RunMeter
from agents_app.protocol.events import (
    RunCompleted,
    RunFailed,
    RunStarted,
    TextDelta,
    ToolCallCompleted,
    ToolCallStarted,
    Usage,
)
from tests.conftest import is_terminal, live_server, offline_settings, ready, recv_until
from tests.log_helpers import all_logs
from tests.prometheus_server import PrometheusServer
from tests.test_gateway import function_env  # noqa: F401 (fixture)

JOKE = "Tell me a joke about programming"
IDS = {"run_id": "run_1", "conversation_id": "c"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_runs_figures_go_to_the_metrics_and_one_log_line() -> None:
    metrics = Metrics()
    meter = RunMeter(metrics)
    events = [
        RunStarted(**IDS, agent="triage", input="hi"),
        TextDelta(**IDS, agent="triage", message_id="m", delta="Hel"),
        TextDelta(**IDS, agent="triage", message_id="m", delta="lo"),
        ToolCallStarted(**IDS, call_id="a", agent="joker", tool="how_many_jokes", arguments={}),
        ToolCallCompleted(
            **IDS, call_id="a", agent="joker", tool="how_many_jokes", output="3", duration_ms=1
        ),
        ToolCallStarted(**IDS, call_id="b", agent="joker", tool="fetch_url", arguments={}),
        ToolCallCompleted(
            **IDS,
            call_id="b",
            agent="joker",
            tool="fetch_url",
            output="",
            error="boom",
            duration_ms=1,
        ),
        RunCompleted(
            **IDS,
            agent="joker",
            final_output="Hello",
            usage=Usage(requests=2, input_tokens=100, output_tokens=20, total_tokens=120),
            duration_ms=5,
        ),
    ]
    with all_logs() as logs:
        for event in events:
            meter.see(event)
    found = samples(metrics.render().decode())
    assert value(found, "agents_runs_total", agent="triage", outcome="completed") == 1
    assert value(found, "agents_tool_calls_total", tool="how_many_jokes", outcome="ok") == 1
    assert value(found, "agents_tool_calls_total", tool="fetch_url", outcome="error") == 1
    assert value(found, "agents_tokens_total", agent="joker", direction="input") == 100
    assert value(found, "agents_tokens_total", agent="joker", direction="output") == 20
    assert value(found, "agents_time_to_first_delta_seconds_count") == 1
    assert value(found, "agents_run_events_total") == len(events)
    [line] = [entry for entry in logs if entry["event"] == "run.metrics"]
    assert line["outcome"] == "completed" and line["agent"] == "triage"
    assert line["tool_calls"] == 2 and line["tool_errors"] == 1
    assert line["input_tokens"] == 100 and line["output_tokens"] == 20
    assert line["first_delta_ms"] is not None and line["events"] == len(events)


def test_a_failed_run_counts_as_failed_with_no_tokens_and_no_first_delta() -> None:
    metrics = Metrics()
    meter = RunMeter(metrics)
    with all_logs() as logs:
        meter.see(RunStarted(**IDS, agent="triage", input="hi"))
        meter.see(RunFailed(**IDS, code="model_error", message="no", retryable=True))
    found = samples(metrics.render().decode())
    assert value(found, "agents_runs_total", agent="triage", outcome="failed") == 1
    assert value(found, "agents_time_to_first_delta_seconds_count") == 0
    [line] = [entry for entry in logs if entry["event"] == "run.metrics"]
    assert line["first_delta_ms"] is None and "input_tokens" not in line


async def test_metrics_after_a_joke_run_over_the_websocket() -> None:
    engine = Engine.from_settings(offline_settings())
    async with live_server(engine) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(json.dumps({"type": "user.message", "text": JOKE}))
        events = await recv_until(ws, is_terminal)
        url = live.url.replace("ws://", "http://", 1) + "metrics"
        async with httpx.AsyncClient() as client:
            response = await client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    assert events[-1]["type"] == "run.completed"
    assert value(found, "agents_runs_total", agent="triage", outcome="completed") == 1
    assert value(found, "agents_tool_calls_total", tool="how_many_jokes", outcome="ok") == 1
    usage = events[-1]["usage"]
    agent = events[-1]["agent"]
    assert (
        value(found, "agents_tokens_total", agent=agent, direction="input") == usage["input_tokens"]
    )
    assert value(found, "agents_open_connections") == 1  # read while the socket was open
    sent, emitted = (
        value(found, "agents_frames_sent_total"),
        value(found, "agents_run_events_total"),
    )
    assert sent >= len(events) and emitted >= len(events) - 1  # session.ready is no run event


async def test_metrics_sit_behind_the_auth_token() -> None:
    engine = Engine.from_settings(offline_settings(auth_token="s3cret-token"))
    async with live_server(engine) as live:
        url = live.url.replace("ws://", "http://", 1) + "metrics"
        async with httpx.AsyncClient() as client:
            refused = await client.get(url)
            allowed = await client.get(url, headers={"Authorization": "Bearer s3cret-token"})
    assert refused.status_code == 401 and "agents_runs" not in refused.text
    assert allowed.status_code == 200 and "agents_runs" in allowed.text


async def test_a_real_prometheus_scrapes_the_run_counter() -> None:
    engine = Engine.from_settings(offline_settings(auth_token="s3cret-token"))
    async with live_server(engine) as live:
        target = urlparse(live.url).netloc
        prometheus = PrometheusServer(target, bearer="s3cret-token")
        try:
            await asyncio.to_thread(prometheus.wait_ready)
            async with live.connect("?token=s3cret-token") as ws:
                await ready(ws)
                await ws.send(json.dumps({"type": "user.message", "text": JOKE}))
                await recv_until(ws, is_terminal)
            query = 'agents_runs_total{agent="triage",outcome="completed"}'
            result: list[dict[str, Any]] = []
            async with asyncio.timeout(30):
                while not result:
                    result = await prometheus.query(query)
                    if not result:
                        await asyncio.sleep(0.5)
            [up] = await prometheus.targets_up()
        finally:
            prometheus.stop()
    assert float(result[0]["value"][1]) == 1
    assert up["health"] == "up"


async def test_the_function_logs_one_figures_line_per_run(
    function_env: dict[str, str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from agents_app.cloud.runtime import reset_runtime
    from agents_app.gateway.serve import load_handler, running_gateway
    from tests.test_gateway import connect

    monkeypatch.setenv("LOG_LEVEL", "INFO")  # run.metrics is an info line
    reset_runtime()
    async with running_gateway(load_handler(), port=0) as gateway, connect(gateway) as ws:
        await ws.send(JOKE)
        events = await recv_until(ws, is_terminal)
    reset_runtime()
    logged = capfd.readouterr()
    lines = [
        json.loads(line)
        for line in (logged.out + logged.err).splitlines()
        if line.startswith("{") and '"run.metrics"' in line
    ]
    assert events[-1]["type"] == "run.completed"
    assert len(lines) == 1
    assert lines[0]["outcome"] == "completed" and lines[0]["tool_calls"] == 1
    assert lines[0]["input_tokens"] == events[-1]["usage"]["input_tokens"]
    assert lines[0]["run_id"] == events[-1]["run_id"]  # bound, like every line of the run
