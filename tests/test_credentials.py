"""A partial credential set is a configuration error, never a silent demo model (DESIGN §5).

`serve` and `chat` stop with one line naming what is missing; the Cloud Function logs the
problem once and answers every message with `error{code:"unavailable"}`; the offline model
answers only when no credential is set (or AGENTS_PROVIDER=offline), and `serve` says so.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agents_app.cloud.runtime import reset_runtime
from agents_app.gateway.serve import RunningGateway, load_handler, running_gateway
from agents_app.settings import MissingCredentials, Settings
from tests.conftest import recv_json

ROOT = Path(__file__).resolve().parent.parent
KEY = "AQVN-partial-credential-secret"
CREDENTIALS = ("API_KEY", "FOLDER_ID", "BASE_URL", "AGENTS_PROVIDER")


@pytest.fixture(autouse=True)
def _no_credentials_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings read the environment too: a developer's own key must not change the answers.
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)


def settings(**env: str) -> Settings:
    return Settings.model_validate({"AGENTS_PROVIDER": "auto"} | env)


@pytest.mark.parametrize(
    ("env", "provider"),
    [
        ({}, "offline"),
        ({"API_KEY": KEY, "FOLDER_ID": "b1g"}, "yandex"),
        ({"API_KEY": KEY, "BASE_URL": "http://127.0.0.1:1/v1"}, "openai"),
        (
            {"API_KEY": KEY, "FOLDER_ID": "b1g", "BASE_URL": "https://llm.api.cloud.yandex.net/v1"},
            "yandex",
        ),
        ({"AGENTS_PROVIDER": "offline", "API_KEY": KEY}, "offline"),  # asked for by name
        ({"AGENTS_PROVIDER": "openai", "API_KEY": KEY}, "openai"),  # api.openai.com
    ],
)
def test_complete_sets_resolve(env: dict[str, str], provider: str) -> None:
    assert settings(**env).resolved_provider == provider


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"API_KEY": KEY}, ["FOLDER_ID", "BASE_URL"]),
        ({"FOLDER_ID": "b1g"}, ["API_KEY"]),
        ({"BASE_URL": "http://127.0.0.1:11434/v1"}, ["API_KEY"]),
        ({"FOLDER_ID": "b1g", "BASE_URL": "http://x/v1"}, ["API_KEY"]),
        ({"API_KEY": "", "FOLDER_ID": "b1g"}, ["API_KEY"]),  # empty is not set
        ({"AGENTS_PROVIDER": "yandex", "API_KEY": KEY}, ["FOLDER_ID"]),
        ({"AGENTS_PROVIDER": "yandex"}, ["API_KEY", "FOLDER_ID"]),
        ({"AGENTS_PROVIDER": "openai", "BASE_URL": "http://x/v1"}, ["API_KEY"]),
    ],
)
def test_partial_sets_are_errors_that_name_what_is_missing(
    env: dict[str, str], named: list[str]
) -> None:
    with pytest.raises(MissingCredentials) as info:
        _ = settings(**env).resolved_provider
    message = str(info.value)
    assert all(name in message for name in named), message
    assert KEY not in message


def agents_app(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in CREDENTIALS}
    environment |= {"LOG_LEVEL": "WARNING", "AGENTS_PORT": "0"} | env
    return subprocess.run(
        [sys.executable, "-m", "agents_app", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=environment,
        check=False,
    )


@pytest.mark.parametrize("command", [["serve"], ["chat", "Tell me a joke"]])
@pytest.mark.parametrize(
    ("env", "named"),
    [({"API_KEY": KEY}, "FOLDER_ID"), ({"FOLDER_ID": "b1g"}, "API_KEY")],
)
def test_serve_and_chat_stop_with_one_readable_line(
    command: list[str], env: dict[str, str], named: str
) -> None:
    result = agents_app(*command, timeout=30, **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error:") and named in lines[0]
    assert KEY not in result.stderr + result.stdout
    assert result.stdout == ""


def serve_until(marker: str, **env: str) -> str:
    """Start `agents-app serve` and return its stderr up to `marker` (then stop it)."""
    environment = {k: v for k, v in os.environ.items() if k not in CREDENTIALS}
    environment |= {"LOG_LEVEL": "INFO", "AGENTS_PORT": "0", "LOG_FORMAT": "json"} | env
    process = subprocess.Popen(
        [sys.executable, "-m", "agents_app", "serve"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env=environment,
    )
    seen: list[str] = []
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 30
        for line in process.stderr:
            seen.append(line)
            if marker in line or time.monotonic() > deadline:
                break
    finally:
        process.terminate()
        process.wait(timeout=10)
    return "".join(seen)


def test_serve_shows_a_banner_when_offline() -> None:
    out = serve_until("serve.starting")
    banner = out.split('{"', 1)[0]  # what comes before the first JSON log line
    assert "OFFLINE DEMO MODEL" in banner and "No model credentials are set" in banner
    asked = serve_until("serve.starting", AGENTS_PROVIDER="offline")
    assert "AGENTS_PROVIDER=offline asks for it" in asked


def test_serve_shows_no_banner_with_a_real_model() -> None:
    out = serve_until("serve.starting", API_KEY=KEY, BASE_URL="http://127.0.0.1:1/v1")
    assert "serve.starting" in out and "OFFLINE" not in out and KEY not in out


def test_serve_runs_on_uvloop() -> None:
    out = serve_until("server.ready")
    ready = [json.loads(line) for line in out.splitlines() if "server.ready" in line]
    assert ready and ready[0]["event_loop"] == "uvloop", out


@pytest.fixture
async def misconfigured_gateway(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[RunningGateway]:
    monkeypatch.setenv("API_KEY", KEY)  # deployed with the key but without FOLDER_ID
    monkeypatch.setenv("AGENTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    monkeypatch.setenv("AGENTS_CONNECTIONS_ENDPOINT", "unset")
    monkeypatch.setenv("AGENTS_CONNECTIONS_INSECURE", "true")
    reset_runtime()
    async with running_gateway(load_handler(), port=0) as running:
        yield running
    reset_runtime()


async def test_function_answers_unavailable_and_logs_the_problem_once(
    misconfigured_gateway: RunningGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    from websockets.asyncio.client import connect

    answers: list[dict[str, Any]] = []
    async with connect(misconfigured_gateway.url, open_timeout=5) as ws:
        for frame in ("Tell me a joke", '{"type":"ping"}', "again"):
            await ws.send(frame)
            answers.append(await recv_json(ws))
    await asyncio.sleep(0.5)  # the emulator's DISCONNECT invocation, after the socket closed
    assert [(a["type"], a["code"]) for a in answers] == [("error", "unavailable")] * 3
    assert all(KEY not in a["message"] and "FOLDER_ID" not in a["message"] for a in answers)

    logged = capsys.readouterr().err
    records = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    problems = [r for r in records if r["event"] == "config.invalid"]
    assert len(problems) == 1 and "FOLDER_ID" in problems[0]["problem"]
    # Said once: DISCONNECT (or anything else) must not trip over it again.
    assert [r for r in records if r["level"] == "error"] == problems
    assert KEY not in logged
