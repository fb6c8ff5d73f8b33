"""Who may connect and how fast they may send: token, per-connection rate, per-address cap."""

from __future__ import annotations

import hmac
import time
from collections import Counter
from collections.abc import Mapping


def token_matches(
    expected: str | None, headers: Mapping[str, str], query: Mapping[str, str]
) -> bool:
    """True when no token is configured, or the client presents it.

    Browsers cannot set headers on a WebSocket, so `?token=` is accepted beside
    `Authorization: Bearer …`. Compared in constant time.
    """
    if expected is None:
        return True
    presented = query.get("token", "")
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        presented = authorization[7:].strip()
    return hmac.compare_digest(presented.encode(), expected.encode())


class TokenBucket:
    """`burst` messages at once, refilled at `per_minute`: chatty but human is fine."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self._rate = per_minute / 60
        self._capacity = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class ClientLimiter:
    """Open connections (each its own conversation) per client address."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._open: Counter[str] = Counter()

    def admit(self, address: str) -> bool:
        if self._open[address] >= self._limit:
            return False
        self._open[address] += 1
        return True

    def leave(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]
