"""Values that must never reach a log line or an event, and the scrubbing of them.

Keys are not enough: an API key hides inside an exception message, a Redis password inside a
URL, so the values themselves are searched for. The list is derived from the settings'
`SecretStr` fields (a new secret setting is covered by declaring it so), plus passwords inside
URL settings, plus what the process learns at run time (the function's IAM tokens).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from urllib.parse import unquote, unquote_plus, urlsplit

from pydantic import BaseModel, SecretStr

REDACTED = "***"
# Shorter values would blank out ordinary words (and nobody's key is that short).
MIN_LENGTH = 6
# IAM tokens rotate (hourly here); the last few are all that can still appear anywhere.
_LEARNT = 8


def secret_values(model: BaseModel) -> list[str]:
    """Every `SecretStr` field's value, and the passwords in every URL-valued string field."""
    found: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name, None)
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, str):
            for password in url_passwords(value):
                # As written in the URL, and as the client decodes it before sending it.
                found.extend({password, unquote(password), unquote_plus(password)})
    return [v for v in found if len(v) >= MIN_LENGTH]


def url_passwords(value: str) -> list[str]:
    """The password in a URL's userinfo, and in a `password=` query parameter (redis-py
    reads that one too)."""
    if "://" not in value:
        return []
    try:
        parts = urlsplit(value)
        found = [parts.password] if parts.password else []
    except ValueError:
        return []
    for pair in parts.query.split("&"):
        key, _, raw = pair.partition("=")
        if unquote_plus(key) == "password" and raw:
            found.append(raw)
    return found


def redact_url(value: str) -> str:
    """`value` with its passwords replaced: safe to show or log."""
    for password in url_passwords(value):
        value = value.replace(password, REDACTED)
    return value


class Secrets:
    """The process's known secrets, as logging is configured once per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._configured: set[str] = set()
        self._learnt: deque[str] = deque(maxlen=_LEARNT)
        self._values: tuple[str, ...] = ()

    def add(self, values: Iterable[str]) -> None:
        """Secrets from configuration: kept for the life of the process."""
        with self._lock:
            self._configured.update(v for v in values if len(v) >= MIN_LENGTH)
            self._refresh()

    def learn(self, value: str | None) -> None:
        """A secret met at run time (a fresh IAM token); only the latest few are kept."""
        if not value or len(value) < MIN_LENGTH:
            return
        with self._lock:
            if value not in self._learnt:
                self._learnt.append(value)
                self._refresh()

    def _refresh(self) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        values = self._configured | set(self._learnt)
        self._values = tuple(sorted(values, key=len, reverse=True))

    def scrub(self, text: str, extra: Iterable[str] = ()) -> str:
        """`text` with every known secret (and every one of `extra`) replaced."""
        for secret in (*self._values, *extra):
            if len(secret) >= MIN_LENGTH and secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def __bool__(self) -> bool:
        return bool(self._values)


SECRETS = Secrets()
