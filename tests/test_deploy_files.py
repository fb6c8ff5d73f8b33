"""Deployment files: the gateway spec and the tutorial's environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from agents_app.models.providers import (
    YANDEX_CHAT_URL,
    YANDEX_RESPONSES_URL,
    YANDEX_URL,
    build_backend,
)
from agents_app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_gateway_spec_routes_all_three_websocket_events_through_variables() -> None:
    text = (ROOT / "gateway-spec.yaml").read_text()
    spec = YAML(typ="safe").load(text)
    route = spec["paths"]["/"]
    for event in ("connect", "message", "disconnect"):
        integration = route[f"x-yc-apigateway-websocket-{event}"]["x-yc-apigateway-integration"]
        assert integration["type"] == "cloud_functions"
        assert integration["function_id"] == "${var.function_id}"
        assert integration["service_account_id"] == "${var.service_account_id}"
    declared = set(spec["x-yc-apigateway"]["variables"])
    assert set(re.findall(r"\$\{var\.(\w+)\}", text)) <= declared


def reached_host(settings: Settings, model: str = "yandexgpt/latest") -> tuple[str, str]:
    """(base URL the model client calls, model name it sends) for these settings."""
    model_client = build_backend(settings).provider.get_model(model).inner  # type: ignore[attr-defined]
    return str(model_client._client.base_url).rstrip("/"), model_client.model


YANDEX = {"api_key": "AQVN-key", "folder_id": "b1gfolder"}


@pytest.mark.parametrize(
    ("api", "base_url", "host"),
    [
        # Nothing set: the documented host, for both APIs.
        ("responses", None, YANDEX_URL),
        ("chat_completions", None, YANDEX_URL),
        # The tutorial's BASE_URL (the Chat Completions host) with its Responses calls.
        ("responses", YANDEX_CHAT_URL, YANDEX_URL),
        ("chat_completions", YANDEX_CHAT_URL, YANDEX_CHAT_URL),
        # The Responses guides' host, asked for explicitly, is used as is.
        ("responses", YANDEX_RESPONSES_URL, YANDEX_RESPONSES_URL),
        ("chat_completions", "https://proxy.example.com/v1", "https://proxy.example.com/v1"),
    ],
)
def test_which_host_each_yandex_setting_reaches(api: str, base_url: str | None, host: str) -> None:
    settings = Settings(**YANDEX, api=api, base_url=base_url)
    assert settings.resolved_provider == "yandex"
    assert reached_host(settings) == (host, "gpt://b1gfolder/yandexgpt/latest")


def test_an_openai_compatible_server_is_reached_where_base_url_says() -> None:
    settings = Settings(api_key="k", base_url="http://127.0.0.1:9/v1", api="chat_completions")
    assert settings.resolved_provider == "openai"
    assert reached_host(settings, "qwen") == ("http://127.0.0.1:9/v1", "qwen")


def test_the_tutorials_environment_still_works() -> None:
    # The tutorial deploys with BASE_URL set to the Chat Completions host and a model URI in
    # MODEL_NAME, while its code calls the Responses API.
    settings = Settings(
        **YANDEX, base_url=YANDEX_CHAT_URL, model_name="gpt://b1gfolder/yandexgpt/latest"
    )
    assert settings.resolved_provider == "yandex"
    assert build_backend(settings).api == "responses"
    assert reached_host(settings, "gpt://b1gfolder/yandexgpt/latest") == (
        YANDEX_URL,
        "gpt://b1gfolder/yandexgpt/latest",
    )
