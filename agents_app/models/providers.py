"""Which model answers: Yandex AI Studio, any OpenAI-compatible server, or the offline model.

Model names from agents.yaml (`yandexgpt/latest`) are turned into provider names here, so
prompt authors never write folder ids or URIs.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents import Model, ModelProvider, OpenAIProvider
from openai import AsyncOpenAI

from agents_app.models.call_ids import UniqueCallIds
from agents_app.models.compat import CompatOpenAI
from agents_app.settings import Settings

# AI Studio's documentation (2026) puts every OpenAI-compatible API on one host.
YANDEX_URL = "https://ai.api.cloud.yandex.net/v1"
# Older hosts that still answer: the Responses guides' and the Chat Completions one, which the
# tutorial's deploy command sets as BASE_URL while its code calls the Responses API.
YANDEX_RESPONSES_URL = "https://rest-assistant.api.cloud.yandex.net/v1"
YANDEX_CHAT_URL = "https://llm.api.cloud.yandex.net/v1"


@dataclass(frozen=True)
class ModelBackend:
    provider: ModelProvider
    kind: str  # "offline" | "yandex" | "openai": shown to clients in session.ready
    api: str  # "responses" | "chat_completions" | "in-process"
    include_usage: bool  # Chat Completions hosts other than OpenAI report no usage otherwise


class YandexModelProvider(ModelProvider):
    """Resolves `yandexgpt/latest` to `gpt://<folder>/yandexgpt/latest` for the SDK provider."""

    def __init__(self, inner: OpenAIProvider, folder_id: str) -> None:
        self._inner = inner
        self._folder_id = folder_id

    def model_uri(self, model_name: str | None) -> str:
        name = model_name or "yandexgpt/latest"
        return name if "://" in name else f"gpt://{self._folder_id}/{name}"

    def get_model(self, model_name: str | None) -> Model:
        return self._inner.get_model(self.model_uri(model_name))

    async def aclose(self) -> None:
        await self._inner.aclose()


def build_backend(settings: Settings) -> ModelBackend:
    kind = settings.resolved_provider
    if kind == "offline":
        # Imported here: a deployment with a real model never loads the demo model's code.
        from agents_app.models.offline import OfflineModelProvider

        return ModelBackend(
            OfflineModelProvider(pace_s=settings.offline_pace_s), "offline", "in-process", False
        )
    # resolved_provider has checked the credentials this backend needs.
    assert settings.api_key is not None
    use_responses = settings.api == "responses"
    provider: ModelProvider
    if kind == "yandex":
        assert settings.folder_id is not None
        base_url = settings.base_url or YANDEX_URL
        if use_responses and base_url.rstrip("/") == YANDEX_CHAT_URL:
            # The tutorial's BASE_URL names the Chat Completions host while its code calls the
            # Responses API: send those calls where the Responses API is documented to be.
            base_url = YANDEX_URL
        client = _client(settings, base_url, project=settings.folder_id)
        inner = OpenAIProvider(openai_client=client, use_responses=use_responses)
        provider = YandexModelProvider(inner, settings.folder_id)
    else:
        # Any OpenAI-compatible server: null content is what llama.cpp's server rejects.
        client = _client(settings, settings.base_url, project=None, text_content=True)
        provider = OpenAIProvider(openai_client=client, use_responses=use_responses)
    # Remote providers may repeat call ids (AI Studio sends the tool name): see call_ids.
    return ModelBackend(
        UniqueCallIds(provider), kind, settings.api, include_usage=not use_responses
    )


def _client(
    settings: Settings, base_url: str | None, *, project: str | None, text_content: bool = False
) -> AsyncOpenAI:
    assert settings.api_key is not None
    # Retries are the openai client's own (honouring Retry-After), configured, not hand-rolled.
    return CompatOpenAI(
        text_content=text_content,
        api_key=settings.api_key.get_secret_value(),
        base_url=base_url,
        project=project,
        timeout=settings.model_timeout_s,
        max_retries=settings.model_max_retries,
    )
