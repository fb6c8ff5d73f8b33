"""An httpx transport whose every TCP connection goes to an address the guard has checked.

httpcore asks its network backend to `connect_tcp(host, port)` with the URL's host name and
later starts TLS with that same name as SNI (and httpx sends it as `Host`). `GuardedBackend`
resolves the name once, refuses the connection unless *every* address is public, and connects
to the checked address itself — so there is no second DNS lookup that could be rebound to a
private address between the check and the connect, while Host and SNI stay the real name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable, Sequence
from typing import Protocol

import httpcore
import httpx

from tools.errors import ToolFailure
from tools.web.ssrf import IPAddress, UrlPolicy


class Unresolvable(ToolFailure):
    """The host name does not resolve (no such name, or no DNS at all)."""


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]: ...


class SystemResolver:
    """The operating system's resolver (getaddrinfo), run off the event loop."""

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise Unresolvable(f"could not resolve {host} ({reason})") from None
        found: list[IPAddress] = []
        for *_, sockaddr in infos:
            # Scoped IPv6 results look like "fe80::1%eth0": keep the address part to check it.
            ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if ip not in found:
                found.append(ip)
        return found


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(
        self,
        policy: UrlPolicy,
        resolver: Resolver,
        connector: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._connector = connector or httpcore.AnyIOBackend()

    async def addresses(self, host: str, port: int, limit_s: float | None) -> list[IPAddress]:
        """The checked addresses to connect to; raises `Refused` if any one is not public."""
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            found: Sequence[IPAddress] = [literal]
        else:
            try:
                async with asyncio.timeout(limit_s):
                    found = await self._resolver.resolve(host, port)
            except TimeoutError:
                raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        if not found:
            raise Unresolvable(f"could not resolve {host}: no addresses")
        # One private answer taints the name: a public first answer must not hide the rest.
        for ip in found:
            self._policy.check_ip(ip, host)
        return list(found)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        last: Exception | None = None
        for ip in await self.addresses(host, port, timeout):
            try:
                return await self._connector.connect_tcp(
                    str(ip),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None  # addresses() never returns an empty list
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise ToolFailure("unix sockets are not reachable from the web tools")

    async def sleep(self, seconds: float) -> None:
        await self._connector.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request mapping, error mapping) over a guarded connection pool.

    No proxy and no environment: a proxy would make the connection (and the DNS lookup) happen
    somewhere the guard cannot see.
    """

    def __init__(
        self,
        backend: GuardedBackend,
        limits: httpx.Limits,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(trust_env=False, limits=limits)
        # httpx 0.28 (pinned <0.29) builds `_pool` without a way to pass a network backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=backend,
        )
