"""function.handler on its own: bad events never raise, and importing it stays cheap."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agents_app.cloud import runtime as runtime_module
from agents_app.cloud.gateway_event import BadEvent, parse_gateway_event
from agents_app.cloud.runtime import FunctionRuntime, reset_runtime
from agents_app.gateway.serve import load_handler
from agents_app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def event(event_type: str = "MESSAGE", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "requestContext": {"connectionId": "c0nn3ct10n1d", "eventType": event_type},
        "headers": {"User-Agent": "wscat"},
        "body": "hello",
        "isBase64Encoded": False,
    }
    return base | overrides


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "not an event",
        {},
        {"requestContext": "nope"},
        {"requestContext": {"eventType": "MESSAGE"}},
        {"requestContext": {"connectionId": "", "eventType": "MESSAGE"}},
        event(requestContext={"connectionId": "c", "eventType": "SHOUT"}),
        event(body=42),
        event(body="%%%not base64", isBase64Encoded=True),
    ],
)
def test_bad_events_get_a_400_json_answer(bad: Any) -> None:
    handler = load_handler()
    answer = handler(bad, None)
    assert answer["statusCode"] == 400
    body = json.loads(answer["body"])
    assert body["type"] == "error" and body["code"] == "bad_request" and body["message"]


def test_connect_is_accepted_without_loading_the_engine_when_warm_up_is_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # (The default, AGENTS_WARM_UP=connect, warms the instance here: tests/test_warm_up.py.)
    monkeypatch.setenv("AGENTS_WARM_UP", "off")
    reset_runtime()
    assert load_handler()(event("CONNECT", body=None), None) == {"statusCode": 200}
    assert runtime_module._runtime is None


def test_connect_on_a_running_instance_reads_its_settings_not_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Building Settings reads and validates the whole environment (~1 ms a handshake).
    monkeypatch.setenv("AGENTS_WARM_UP", "off")
    monkeypatch.setenv("AGENTS_AUTH_TOKEN", "s3cret-token")
    reset_runtime()
    handler = load_handler()
    runtime_module.get_runtime()  # as after the instance's first message
    built: list[object] = []
    real_init = Settings.__init__

    def counting(self: Settings, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(Settings, "__init__", counting)
    try:
        good = event("CONNECT", body=None, headers={"Authorization": "Bearer s3cret-token"})
        assert handler(good, None) == {"statusCode": 200}
        assert handler(event("CONNECT", body=None), None)["statusCode"] == 403
        assert built == []
    finally:
        reset_runtime()


def test_the_instance_runs_its_work_on_uvloop() -> None:
    async def which_loop() -> str:
        return type(asyncio.get_running_loop()).__module__

    runtime = FunctionRuntime(Settings())
    try:
        assert runtime.submit(which_loop()).result(timeout=10) == "uvloop"
    finally:
        runtime.close()


def test_event_parsing() -> None:
    parsed = parse_gateway_event(
        event(body=base64.b64encode(b"\x00\x01").decode(), isBase64Encoded=True)
    )
    assert parsed.body == b"\x00\x01" and parsed.headers == {"user-agent": "wscat"}
    with pytest.raises(BadEvent) as info:
        parse_gateway_event(event(body=[]))
    assert info.value.connection_id == "c0nn3ct10n1d"


def test_import_function_loads_nothing_heavy() -> None:
    probe = (
        "import sys, time; t = time.perf_counter(); import function; "
        "heavy = [m for m in ('agents', 'openai', 'grpc', 'yandexcloud', 'httpx', 'trafilatura') "
        "if m in sys.modules]; print(heavy)"
    )
    # The default warm-up mode (connect): `load` would start importing them in the background.
    env = {k: v for k, v in os.environ.items() if k != "AGENTS_WARM_UP"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_a_plain_connect_loads_nothing_heavy_when_warm_up_is_off() -> None:
    # Only a connect URL that asks for something (?batch=1) needs the store at CONNECT (the
    # default warm-up, AGENTS_WARM_UP=connect, loads everything there by design).
    probe = (
        "import sys, function; "
        "connect = {'requestContext': {'connectionId': 'c1', 'eventType': 'CONNECT'}, "
        "'queryStringParameters': {'lang': 'ru'}}; "
        "print(function.handler(connect, None)['statusCode'], "
        "[m for m in ('agents', 'openai', 'grpc', 'yandexcloud') if m in sys.modules])"
    )
    env = os.environ | {"AGENTS_WARM_UP": "off"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "200 []", result.stdout


def test_a_crash_is_answered_as_internal_not_as_a_bad_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def crash(*_: Any) -> dict[str, Any]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("agents_app.cloud.handler._invoke", crash)
    answer = load_handler()(event(), None)
    assert answer["statusCode"] == 500
    body = json.loads(answer["body"])
    assert (body["type"], body["code"]) == ("error", "internal")
    assert "disk on fire" not in body["message"]  # the details stay in our own log
