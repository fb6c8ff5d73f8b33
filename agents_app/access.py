"""Who may connect and how fast they may send: token, origin, per-connection rate and
per-address cap."""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


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


def normalise_origin(origin: str) -> str | None:
    """`scheme://host:port` with the port spelled out, or None for what is no web origin
    (`null` from sandboxed frames and files, paths, other schemes)."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if port is None or not parts.hostname or parts.path not in ("", "/"):
        return None
    if parts.query or parts.fragment or parts.username or parts.password:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port}"


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class OriginPolicy:
    """Which web pages may open the WebSocket or `POST /ag-ui` from a user's browser.

    A browser sends any site's requests to 127.0.0.1 and never lets the page choose the
    `Origin`; so an `Origin` that is not ours means another site is spending the user's
    model credits. Requests without one (wscat, the CLI, servers) are not browser pages.
    """

    allowed: frozenset[str]  # normalised origins from AGENTS_ALLOWED_ORIGINS
    any_origin: bool = False  # AGENTS_ALLOWED_ORIGINS=*: only when asked for
    # Listening on loopback only: the server's own origin must then be a loopback name too.
    # Otherwise DNS rebinding (evil.example resolving to 127.0.0.1) would make a hostile
    # page "same origin" with its own Host header.
    loopback_only: bool = True

    @classmethod
    def build(cls, origins: Iterable[str], *, bind_host: str) -> OriginPolicy:
        listed = [o.strip() for o in origins if o.strip()]
        normalised = {normalise_origin(o) for o in listed if o != "*"}
        normalised.discard(None)
        return cls(
            allowed=frozenset(o for o in normalised if o is not None),
            any_origin="*" in listed,
            loopback_only=is_loopback(bind_host),
        )

    def allows(self, headers: Mapping[str, str]) -> bool:
        origin = headers.get("origin")
        if origin is None or self.any_origin:
            return True
        normalised = normalise_origin(origin)
        if normalised is None:
            return False
        return normalised in self.allowed or self._is_own(normalised, headers.get("host", ""))

    def _is_own(self, origin: str, host_header: str) -> bool:
        scheme, _, authority = origin.partition("://")
        try:
            host = urlsplit(f"//{host_header.strip().lower()}")
            port = host.port or _DEFAULT_PORTS[scheme]
        except ValueError:
            return False
        if not host.hostname or (self.loopback_only and not is_loopback(host.hostname)):
            return False
        name = f"[{host.hostname}]" if ":" in host.hostname else host.hostname
        return authority == f"{name}:{port}"


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
