"""The IAM token the Connection Service wants, from the function's service account."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from agents_app.secrets import SECRETS

# Tokens live for hours; refreshing well before that keeps a warm instance safe.
_REFRESH_AFTER_S = 3600.0


def token_from_context(context: Any) -> str | None:
    """The runtime hands the service account's token to each invocation as `context.token`."""
    token = getattr(context, "token", None)
    if isinstance(token, Mapping):
        value = token.get("access_token")
        return value if isinstance(value, str) and value else None
    return token if isinstance(token, str) and token else None


class TokenSource:
    """The latest invocation's token, else the metadata service (through the yandexcloud SDK)."""

    def __init__(self) -> None:
        self._token: str | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    def offer(self, token: str | None) -> None:
        if token:
            # A bearer credential like any other: it must never be logged or sent on.
            SECRETS.learn(token)
            self._token, self._fetched_at = token, time.monotonic()

    async def metadata(self) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {await self.token()}")]

    async def token(self) -> str:
        if self._token and time.monotonic() - self._fetched_at < _REFRESH_AFTER_S:
            return self._token
        async with self._lock:
            if not self._token or time.monotonic() - self._fetched_at >= _REFRESH_AFTER_S:
                self.offer(await asyncio.to_thread(_metadata_service_token))
            assert self._token is not None
            return self._token


def _metadata_service_token() -> str:
    from yandexcloud.auth import get_auth_token

    return str(get_auth_token())
