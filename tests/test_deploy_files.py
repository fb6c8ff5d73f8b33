"""Deployment files: the gateway spec and the tutorial's environment."""

from __future__ import annotations

import re
from pathlib import Path

from ruamel.yaml import YAML

from agents_app.models.providers import YANDEX_CHAT_URL, YANDEX_RESPONSES_URL, build_backend
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


def test_the_tutorials_environment_still_works() -> None:
    # The tutorial deploys with BASE_URL set to the Chat Completions host and a model URI in
    # MODEL_NAME, while its code calls the Responses API.
    settings = Settings(
        api_key="AQVN-key",
        folder_id="b1gfolder",
        base_url=YANDEX_CHAT_URL,
        model_name="gpt://b1gfolder/yandexgpt/latest",
    )
    assert settings.resolved_provider == "yandex"
    backend = build_backend(settings)
    assert backend.api == "responses"
    model = backend.provider.get_model(settings.model_name)
    client = model._client  # type: ignore[attr-defined]
    assert str(client.base_url).rstrip("/") == YANDEX_RESPONSES_URL
    assert model.model == "gpt://b1gfolder/yandexgpt/latest"  # type: ignore[attr-defined]
    chat = build_backend(settings.model_copy(update={"api": "chat_completions"}))
    chat_client = chat.provider.get_model("yandexgpt/latest")._client  # type: ignore[attr-defined]
    assert str(chat_client.base_url).rstrip("/") == YANDEX_CHAT_URL
