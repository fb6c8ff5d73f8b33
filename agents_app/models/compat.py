"""The openai client we give the SDK: quirks of real OpenAI-compatible servers, smoothed.

Found against llama-cpp-python's server (docs/local-llm.md has the whole list):

- A Chat Completions stream that fails after its 200 headers (llama.cpp raises inside the
  generator: a template error, an unsupported tool_choice) ends *cleanly*: no chunk, no
  `[DONE]`. The openai client reads that as a finished stream and the SDK as an empty answer,
  so the user got `run.completed` with no text. A stream that ends without `[DONE]` and
  without a `finish_reason` is cut short: we raise what a dropped connection raises, and the
  run ends `run.failed{model_error, retryable}`.
- openai-agents sends an assistant message that only calls tools as `"content": null`
  (valid for OpenAI). llama.cpp's server types it as a string (a null is a 500) and its
  chat templates read it (a missing key is a failed stream), so for generic
  OpenAI-compatible servers it goes out as `""`, which every server we know accepts.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx2
from openai import AsyncOpenAI, DefaultAsyncHttpxClient
from openai._constants import DEFAULT_CONNECTION_LIMITS
from openai._models import FinalRequestOptions

CHAT_PATH = "/chat/completions"
# The end of a well-finished stream, as bytes (the JSON may or may not have spaces).
_FINISHED = re.compile(rb'data: ?\[DONE\]|"finish_reason"\s*:\s*"')
_WINDOW = 64  # bytes kept from the previous chunk, so a marker split across two is seen


class StreamCutShort(httpx2.RemoteProtocolError):
    """A Chat Completions stream that ended without finishing."""


class _FinishCheckingStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, request: httpx2.Request) -> None:
        self._inner = inner
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        finished, tail = False, b""
        async for chunk in self._inner:
            if not finished:
                window = tail + chunk
                finished = _FINISHED.search(window) is not None
                tail = window[-_WINDOW:]
            yield chunk
        if not finished:
            raise StreamCutShort(
                "the model's stream ended without [DONE] or a finish_reason", request=self._request
            )

    async def aclose(self) -> None:
        await self._inner.aclose()


class _ChatStreamTransport(httpx2.AsyncBaseTransport):
    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        event_stream = response.headers.get("content-type", "").startswith("text/event-stream")
        if request.url.path.endswith(CHAT_PATH) and event_stream:
            assert isinstance(response.stream, httpx2.AsyncByteStream)
            response.stream = _FinishCheckingStream(response.stream, request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _content_as_text(messages: list[Any]) -> list[Any]:
    return [
        {**message, "content": ""}
        if isinstance(message, dict)
        and message.get("role") == "assistant"
        and message.get("content") is None
        else message
        for message in messages
    ]


class CompatOpenAI(AsyncOpenAI):
    """AsyncOpenAI that checks Chat Completions streams finish; `text_content` also sends an
    assistant message's null content as ""."""

    def __init__(self, *, text_content: bool = False, **kwargs: Any) -> None:
        transport = httpx2.AsyncHTTPTransport(limits=DEFAULT_CONNECTION_LIMITS)
        # openai's own defaults (timeout, redirects); the limits go to the transport we wrap.
        # Requests through an HTTP(S)_PROXY from the environment use httpx's proxy mounts and
        # skip the finish check: no deployment of ours has one.
        http_client = DefaultAsyncHttpxClient(transport=_ChatStreamTransport(transport))
        super().__init__(http_client=http_client, **kwargs)
        self._text_content = text_content

    async def _prepare_options(self, options: FinalRequestOptions) -> FinalRequestOptions:
        options = await super()._prepare_options(options)
        body = options.json_data
        if (
            self._text_content
            and options.url.endswith(CHAT_PATH)
            and isinstance(body, dict)
            and isinstance(body.get("messages"), list)
        ):
            options.json_data = {**body, "messages": _content_as_text(body["messages"])}
        return options
