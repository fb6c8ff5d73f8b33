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
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, SecretStr

REDACTED = "***"
# Shorter values would blank out ordinary words (and nobody's key is that short).
MIN_LENGTH = 6
# IAM tokens rotate (hourly here); the last few are all that can still appear anywhere.
_LEARNT = 8


def secret_values(model: BaseModel) -> list[str]:
    """Every `SecretStr` field's value, and the password of every URL-valued string field."""
    found: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name, None)
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, str) and (password := url_password(value)):
            found.extend({password, unquote(password)})
    return [v for v in found if len(v) >= MIN_LENGTH]


def url_password(value: str) -> str | None:
    if "://" not in value or "@" not in value:
        return None
    try:
        return urlsplit(value).password or None
    except ValueError:
        return None


def redact_url(value: str) -> str:
    """`value` with the password of its userinfo (if any) replaced: safe to show or log."""
    password = url_password(value)
    return value.replace(f":{password}@", f":{REDACTED}@", 1) if password else value


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
