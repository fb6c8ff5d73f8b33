"""Usage a provider did not report is unknown (null) everywhere it shows, never 0.

Some OpenAI-compatible servers (llama.cpp's among them, tests/test_local_llm.py) stream no
usage: `0+0 tokens` would be a wrong number, and a counter that adds 0 makes them look free.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from agents import Usage as SdkUsage

from agents_app.engine import Engine
from agents_app.observe.metrics import Metrics
from agents_app.observe.run_meter import RunMeter
from agents_app.protocol.agui import AgUiEncoder
from agents_app.protocol.encoders import encode_pretty
from agents_app.protocol.events import (
    RunCompleted,
    RunStarted,
    Usage,
    events_json_schema,
)
from agents_app.stream.usage import run_usage
from agents_app.testing import Reply, ScriptedOpenAIServer, Text
from tests.log_helpers import all_logs
from tests.test_agui import encode_all
from tests.test_metrics import samples
from tests.test_model_backends import JOKE_SCRIPT, remote_settings, run

IDS = {"run_id": "run_1", "conversation_id": "c"}
UNKNOWN = {"requests": 1, "input_tokens": None, "output_tokens": None, "total_tokens": None}


def completed(usage: Usage) -> RunCompleted:
    return RunCompleted(**IDS, agent="joker", final_output="Hi", usage=usage, duration_ms=5)


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_a_provider_that_reports_no_usage_gives_null_tokens(
    srv: ScriptedOpenAIServer, api: str
) -> None:
    srv.enqueue(Reply([Text("Hello there")], usage=None))
    events = await run(Engine.from_settings(remote_settings(srv, api=api)), "hi")
    last = events[-1]
    assert last.type == "run.completed"
    assert last.usage.model_dump() == UNKNOWN
    assert '"input_tokens":null' in last.model_dump_json()
    if api == "chat_completions":  # we asked for usage; this provider just does not send it
        assert srv.requests[0].body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_usage_the_provider_reports_arrives(srv: ScriptedOpenAIServer, api: str) -> None:
    srv.enqueue(Reply([Text("Hello there")], usage=(12, 4)))
    events = await run(Engine.from_settings(remote_settings(srv, api=api)), "hi")
    assert events[-1].usage.model_dump() == {
        "requests": 1,
        "input_tokens": 12,
        "output_tokens": 4,
        "total_tokens": 16,
    }


async def test_one_request_without_usage_makes_the_runs_total_unknown(
    srv: ScriptedOpenAIServer,
) -> None:
    # A partial sum would pass for the whole run's cost.
    handoff, tool, answer = JOKE_SCRIPT
    srv.enqueue(handoff, tool, Reply(answer.items, usage=None))
    events = await run(Engine.from_settings(remote_settings(srv, api="chat_completions")))
    assert events[-1].type == "run.completed"
    assert events[-1].usage.model_dump() == UNKNOWN | {"requests": 3}


def test_no_requests_counted_is_not_zero_tokens() -> None:
    # Adapters that report no usage may count no request either (the SDK's default).
    assert run_usage(SdkUsage()).model_dump() == UNKNOWN | {"requests": 0}
    counted = SdkUsage()
    counted.add(SdkUsage(requests=1, input_tokens=3, output_tokens=2, total_tokens=5))
    assert run_usage(counted).model_dump() == {
        "requests": 1,
        "input_tokens": 3,
        "output_tokens": 2,
        "total_tokens": 5,
    }


def test_the_schema_says_tokens_may_be_null() -> None:
    schema = events_json_schema()
    event = json.loads(completed(Usage(requests=1)).model_dump_json())
    jsonschema.validate(event, schema)
    usage_schema = schema["$defs"]["Usage"]["properties"]["input_tokens"]
    assert {"type": "null"} in usage_schema["anyOf"]


def test_the_terminal_says_tokens_unknown() -> None:
    assert "tokens unknown" in (encode_pretty(completed(Usage(requests=1))) or "")
    known = encode_pretty(completed(Usage(requests=1, input_tokens=7, output_tokens=3)))
    assert "7+3 tokens" in (known or "")


def test_agui_leaves_unknown_counts_out() -> None:
    [frame] = [
        f
        for f in encode_all(AgUiEncoder(), [completed(Usage(requests=1))])
        if f["type"] == "RUN_FINISHED"
    ]
    assert frame["result"]["usage"] == UNKNOWN
    [entry] = frame["usage"]
    assert not {"inputTokens", "outputTokens", "totalTokens"} & set(entry)


def test_metrics_count_no_tokens_for_unknown_usage() -> None:
    metrics = Metrics()
    meter = RunMeter(metrics)
    with all_logs() as logs:
        meter.see(RunStarted(**IDS, agent="triage", input="hi"))
        meter.see(completed(Usage(requests=1)))
    found: dict[tuple[str, Any], float] = samples(metrics.render().decode())
    assert not [key for key in found if key[0] == "agents_tokens_total"]
    [line] = [entry for entry in logs if entry["event"] == "run.metrics"]
    assert line["input_tokens"] is None and line["output_tokens"] is None
