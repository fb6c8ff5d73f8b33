"""The CLI as a user runs it: a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import JOKES_SEED

ROOT = Path(__file__).resolve().parent.parent


def agents_app(
    *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if k not in {"API_KEY", "FOLDER_ID", "BASE_URL"}
    }
    environment |= {
        "AGENTS_OFFLINE_PACE": "0",
        "AGENTS_JOKES_SEED": str(JOKES_SEED),
        "LOG_LEVEL": "WARNING",
    } | env
    return subprocess.run(
        [sys.executable, "-m", "agents_app", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        cwd=ROOT,
        env=environment,
        check=False,
    )


def test_chat_json_prints_the_whole_run() -> None:
    result = agents_app("chat", "Tell me a joke about cats", "--format", "json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "run.started" and types[-1] == "run.completed"
    assert "agent.switched" in types and "tool.call.completed" in types
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


def test_chat_join_replays_a_run_by_id(tmp_path: Path) -> None:
    store = {"AGENTS_DATA_DIR": str(tmp_path)}
    ran = agents_app("chat", "Tell me a joke about cats", "--format", "json", **store)
    assert ran.returncode == 0, ran.stderr
    events = [json.loads(line) for line in ran.stdout.splitlines()]
    run_id = events[0]["run_id"]
    joined = agents_app("chat", "--join", run_id, "--format", "json", **store)
    assert joined.returncode == 0, joined.stderr
    assert [json.loads(line) for line in joined.stdout.splitlines()] == events
    tail = agents_app("chat", "--join", run_id, "--after-seq", "3", "-f", "json", **store)
    assert [json.loads(line) for line in tail.stdout.splitlines()] == events[3:]
    gone = agents_app("chat", "--join", "run_unknown", **store)
    assert gone.returncode == 2 and "not_found" in gone.stderr


def test_chat_pretty_shows_switches_tools_and_text() -> None:
    result = agents_app("chat", "Tell me a joke about cats")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "triage hands off to joker" in out
    assert "how_many_jokes()" in out and "↳ 3" in out
    assert "cats" in out.lower()


def test_chat_text_is_the_raw_answer() -> None:
    result = agents_app("chat", "Tell me a joke about cats", "--format", "text")
    assert result.returncode == 0, result.stderr
    assert "{" not in result.stdout and "cats" in result.stdout.lower()


def test_validate_ok_and_broken(tmp_path: Path) -> None:
    ok = agents_app("validate", "config/agents.yaml")
    assert ok.returncode == 0, ok.stderr
    broken = tmp_path / "agents.yaml"
    broken.write_text(
        "version: 1\nstart: triage\nagents:\n  triage:\n    name: T\n    instructons: hi\n"
    )
    bad = agents_app("validate", str(broken))
    assert bad.returncode != 0
    assert f"{broken}:6:5:" in bad.stderr and "did you mean 'instructions'" in bad.stderr


def test_schema_events_is_json_schema() -> None:
    result = agents_app("schema", "events")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    mapping = schema["discriminator"]["mapping"]
    assert {"run.started", "text.delta", "run.failed", "session.ready"} <= set(mapping)


def test_a_paused_run_exits_3_and_resume_goes_on(tmp_path: Path) -> None:
    from tests.test_approvals import approvals_config

    env = {
        "AGENTS_DATA_DIR": str(tmp_path / "data"),
        "AGENTS_CONFIG": str(approvals_config(tmp_path)),
    }
    paused = agents_app("chat", "Tell me a joke about cats", "-f", "json", **env)
    assert paused.returncode == 3, paused.stderr
    stop = json.loads(paused.stdout.splitlines()[-1])
    assert stop["type"] == "run.interrupted"
    [call_id] = stop["pending"]
    resumed = agents_app(
        "chat", "--resume", stop["run_id"], "--approve", call_id, "-f", "json", **env
    )
    assert resumed.returncode == 0, resumed.stderr
    events = [json.loads(line) for line in resumed.stdout.splitlines()]
    assert events[0]["resumed_from"] == stop["run_id"] and events[-1]["type"] == "run.completed"
    again = agents_app("chat", "--resume", stop["run_id"], "--approve", call_id, **env)
    assert again.returncode == 2 and "not_found" in again.stderr


def test_chat_asks_on_the_terminal(tmp_path: Path) -> None:
    from tests.test_approvals import approvals_config

    env = {
        "AGENTS_DATA_DIR": str(tmp_path / "data"),
        "AGENTS_CONFIG": str(approvals_config(tmp_path)),
    }
    result = agents_app("chat", "Tell me a joke about cats", "--ask", stdin="n\nnot now\n", **env)
    assert result.returncode == 0, result.stderr
    assert "joker wants to run how_many_jokes(). Allow?" in result.stderr
    assert "error: Rejected: not now" in result.stdout
