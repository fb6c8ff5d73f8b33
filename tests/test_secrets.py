"""Internal error text stays in the log, and no secret reaches a log line or an event.

The secrets are derived from the settings' `SecretStr` fields (here and in the web tools),
passwords inside SESSION_STORE URLs, and the IAM tokens the function is handed at run time.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from agents import function_tool
from pydantic import AliasChoices, SecretStr
from pydantic_settings import BaseSettings

from agents_app.cloud.credentials import TokenSource
from agents_app.engine import Engine
from agents_app.logs import configure_logging
from agents_app.memory.store import open_store
from agents_app.protocol.encoders import new_encoder
from agents_app.protocol.events import Error, TextDelta
from agents_app.secrets import REDACTED
from agents_app.settings import Settings
from agents_app.testing import Reply, ScriptedOpenAIServer, Text, ToolCall
from tests.test_faults import engine_with_tool, run_and_recover, settings_for
from tools.errors import ToolFailure
from tools.web.settings import WebSettings

WEB_KEY = "web-yandex-key-0123456789"
STORE_PASSWORD = "redis-pass-9876543210"
IAM_TOKEN = "t1.9euelZqOjpGSzZ-iam-token-abcdef"
GOOD = Reply([Text("Done.")])


@pytest.fixture(autouse=True)
def _web_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WEB_YANDEX_API_KEY", WEB_KEY)
    yield
    configure_logging(level="WARNING")  # leave the usual logging for the next test


def secret_env_names(model: type[BaseSettings]) -> list[str]:
    """The environment variable of every `SecretStr` field of `model`."""
    names = []
    for name, field in model.model_fields.items():
        if SecretStr not in (field.annotation, *typing.get_args(field.annotation)):
            continue
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            alias = alias.choices[0]
        names.append(str(alias) if alias else model.model_config["env_prefix"] + name.upper())
    return names


@pytest.mark.parametrize("model", [Settings, WebSettings])
def test_every_secret_setting_is_on_the_list(
    model: type[BaseSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Declaring a setting SecretStr is all it takes for it to be scrubbed: checked for each.
    names = secret_env_names(model)
    assert names, "no SecretStr fields found: the derivation would be empty"
    for name in names:
        value = f"value-of-{name}-0123456789"
        monkeypatch.setenv(name, value)
        assert value in Settings().secrets(), name


def test_store_passwords_and_web_key_are_secrets() -> None:
    url = f"rediss://default:{STORE_PASSWORD}@cache.internal:6380/0"
    secrets = Settings(session_store=url).secrets()
    assert STORE_PASSWORD in secrets and WEB_KEY in secrets
    # Percent-encoded in the URL, the password is also looked for as it is really spelt.
    encoded = Settings(session_store="redis://:p%40ss-word-123@h/0").secrets()
    assert {"p%40ss-word-123", "p@ss-word-123"} <= set(encoded)
    # redis-py also takes the password as a query parameter.
    query = Settings(session_store="redis://h:6379/0?password=query-pass-123").secrets()
    assert "query-pass-123" in query


def test_a_bad_store_url_is_reported_without_its_password(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as info:
        open_store(f"redis+x://u:{STORE_PASSWORD}@h/0", ttl_s=1, lock_ttl_s=1, default_dir=tmp_path)
    assert STORE_PASSWORD not in str(info.value) and REDACTED in str(info.value)


def test_logs_scrub_every_secret_including_iam_tokens_met_later(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = Settings(
        api_key="model-key-0123456789",
        auth_token="auth-token-0123456789",
        session_store=f"redis://:{STORE_PASSWORD}@h:6379/0",
    )
    configure_logging(level="INFO", fmt="json", secrets=settings.secrets())
    TokenSource().offer(IAM_TOKEN)  # the function runtime hands tokens over per invocation
    secrets = ["model-key-0123456789", "auth-token-0123456789", STORE_PASSWORD, WEB_KEY, IAM_TOKEN]
    log = structlog.get_logger("test")
    log.warning("leak", detail=" ".join(secrets))
    try:
        raise RuntimeError(f"connect failed: {settings.session_store} Bearer {IAM_TOKEN}")
    except RuntimeError:
        log.exception("crash")
    out = capsys.readouterr().err
    assert len(out.strip().splitlines()) == 2
    for secret in secrets:
        assert secret not in out, secret
    assert json.loads(out.splitlines()[0])["detail"] == " ".join([REDACTED] * 5)


def test_events_are_scrubbed_on_the_way_out() -> None:
    TokenSource().offer(IAM_TOKEN)
    Engine.from_settings(Settings(provider="offline", auth_token="auth-token-for-events"))
    encode = new_encoder("json")
    error = json.loads(str(encode(Error(code="bad_request", message=f"token {IAM_TOKEN}"))))
    assert error == {"type": "error", "code": "bad_request", "message": f"token {REDACTED}"}
    delta = TextDelta(
        run_id="r", conversation_id="c", message_id="m", agent="a", delta="auth-token-for-events"
    )
    assert json.loads(str(encode(delta)))["delta"] == REDACTED
    assert delta.delta == "auth-token-for-events"  # the caller's event is left alone


@function_tool
def leaky() -> str:
    """Fails with internals in its message."""
    raise RuntimeError(f"cannot open /srv/app/secret.db with {STORE_PASSWORD}")


@function_tool
def quoting() -> str:
    """Fails the way a tool should, but quotes a server that echoed the key."""
    raise ToolFailure(f"search API answered 403: bad key {WEB_KEY}")


async def test_an_unexpected_tool_exception_reaches_the_client_as_its_type_only(
    srv: ScriptedOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(srv.base_url)
    configure_logging(level="WARNING", fmt="json", secrets=[*settings.secrets(), STORE_PASSWORD])
    srv.enqueue(Reply([ToolCall("leaky")]), Reply([Text("The tool failed.")]), GOOD)
    run = await run_and_recover(engine_with_tool(srv, leaky, tmp_path))
    done = next(e for e in run if e["type"] == "tool.call.completed")
    assert done["error"] == "The tool failed (RuntimeError)."
    assert "/srv/app" not in json.dumps(run) and run[-1]["type"] == "run.completed"
    # The model read the SDK's generic message, not the internals either.
    tool_output = json.dumps(srv.requests[1].body)
    assert "/srv/app" not in tool_output and "An error occurred" in tool_output

    logged = capsys.readouterr().err
    failed = [json.loads(line) for line in logged.splitlines() if '"tool.failed"' in line]
    assert len(failed) == 1 and failed[0]["tool"] == "leaky"
    assert "/srv/app/secret.db" in failed[0]["exception"]  # the operator gets the detail
    assert STORE_PASSWORD not in logged


async def test_a_tool_failure_quoting_a_secret_is_scrubbed_for_client_and_model(
    srv: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    srv.enqueue(Reply([ToolCall("quoting")]), Reply([Text("The search failed.")]), GOOD)
    run = await run_and_recover(engine_with_tool(srv, quoting, tmp_path))
    done = next(e for e in run if e["type"] == "tool.call.completed")
    assert done["error"] == f"search API answered 403: bad key {REDACTED}"
    assert done["output"] == f"Error: {done['error']}"
    assert WEB_KEY not in json.dumps(run) and WEB_KEY not in json.dumps(srv.requests[1].body)
