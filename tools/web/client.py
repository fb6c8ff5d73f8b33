"""The web tools' shared state: settings, the SSRF policy and one pooled `httpx.AsyncClient`.

Tools call `runtime()`; the service (or a test) may install its own with `configure()`. The
client is made lazily and per event loop: pooled connections belong to the loop that opened
them, and a CLI run, a server, a cloud-function thread and each test may run their own loop.
"""

from __future__ import annotations

import asyncio
import ssl
import weakref

import httpcore
import httpx
from pydantic import ValidationError

from tools.errors import ToolFailure
from tools.web.settings import WebSettings
from tools.web.ssrf import UrlPolicy
from tools.web.transport import GuardedBackend, GuardedTransport, Resolver, SystemResolver


class WebRuntime:
    def __init__(
        self,
        settings: WebSettings | None = None,
        *,
        resolver: Resolver | None = None,
        connector: httpcore.AsyncNetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """Seams for tests: DNS answers, the raw TCP dialer, the trusted certificates."""
        self._settings = settings
        self._resolver = resolver or SystemResolver()
        self._connector = connector
        self._ssl_context = ssl_context
        # One client per event loop (a server thread and a cloud-function thread may each run
        # one); a client goes away with its loop.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]
        self._clients = weakref.WeakKeyDictionary()

    @property
    def settings(self) -> WebSettings:
        if self._settings is None:
            self._settings = _load_settings()
        return self._settings

    @property
    def policy(self) -> UrlPolicy:
        return UrlPolicy(self.settings)

    def client(self) -> httpx.AsyncClient:
        """The running loop's shared, pooled client (made on first use)."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            client = self._clients[loop] = self._new_client()
        return client

    def _new_client(self) -> httpx.AsyncClient:
        s = self.settings
        limits = httpx.Limits(
            max_connections=s.max_connections,
            max_keepalive_connections=s.max_keepalive_connections,
        )
        backend = GuardedBackend(self.policy, self._resolver, self._connector)
        return httpx.AsyncClient(
            transport=GuardedTransport(backend, limits, self._ssl_context),
            timeout=httpx.Timeout(
                connect=s.connect_timeout_s,
                read=s.read_timeout_s,
                write=s.read_timeout_s,
                pool=s.connect_timeout_s,
            ),
            # Redirects are followed by hand so that every hop passes the guard first.
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": s.user_agent},
        )

    async def aclose(self) -> None:
        """Close the running loop's client; the next request opens a new one."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None and not client.is_closed:
            await client.aclose()


def _load_settings() -> WebSettings:
    try:
        return WebSettings()
    except ValidationError as exc:
        # Field names and reasons only: pydantic's default text would echo the input values.
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ToolFailure(f"the web tools are misconfigured ({problems})") from None


_runtime = WebRuntime()


def runtime() -> WebRuntime:
    return _runtime


def configure(new: WebRuntime) -> WebRuntime:
    """Install `new` for every web tool in the process; returns the previous runtime."""
    global _runtime
    previous, _runtime = _runtime, new
    return previous


async def aclose() -> None:
    await _runtime.aclose()
