"""One guarded HTTP exchange: redirects checked hop by hop, bounded retries, byte cap, deadline.

Every failure becomes a `ToolFailure` whose text says what happened in words a model (and a
user reading the event stream) can act on.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from tools.errors import ToolFailure
from tools.web.client import WebRuntime
from tools.web.ssrf import Refused

log = structlog.get_logger("tools.web")

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Connection-level hiccups worth another try; timeouts are not retried (the time is spent).
_RETRY_ERRORS = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)


class HttpStatusFailure(ToolFailure):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class TooLarge(ToolFailure):
    """The body is larger than the byte cap; reading stopped at the cap."""


class NotText(ToolFailure):
    """The content type is not one the caller accepts."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    media_type: str  # lower-case, without parameters ("" when the server sent none)
    charset: str | None
    body: bytes
    redirects: tuple[str, ...] = field(default=())


AcceptType = Callable[[str], bool]


def _media_type(response: httpx.Response) -> tuple[str, str | None]:
    raw = response.headers.get("content-type", "")
    media, *params = (part.strip() for part in raw.split(";"))
    charset = None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip(" \"'"):
            charset = value.strip(" \"'")
    return media.lower(), charset


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Exchange:
    """Requests through one runtime, honouring its settings."""

    def __init__(self, web: WebRuntime) -> None:
        self.web = web
        self.settings = web.settings

    def _backoff(self, attempt: int, response: httpx.Response | None) -> float:
        s = self.settings
        hinted = _retry_after(response) if response is not None else None
        delay = s.retry_backoff_s * (2**attempt) * (1 + random.random() / 2)
        return min(s.retry_max_backoff_s, hinted if hinted is not None else delay)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        client = self.web.client()
        attempts = self.settings.max_retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = await client.send(request, stream=True)
            except _RETRY_ERRORS as exc:
                if last:
                    raise
                wait = self._backoff(attempt, None)
                log.info("web.retry", url=str(request.url), error=type(exc).__name__, wait_s=wait)
                await asyncio.sleep(wait)
                continue
            if response.status_code not in _RETRY_STATUSES or last:
                return response
            wait = self._backoff(attempt, response)
            await response.aclose()
            log.info("web.retry", url=str(request.url), status=response.status_code, wait_s=wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable: the last attempt always returns or raises")

    async def request(
        self,
        url: str,
        *,
        accept: AcceptType,
        method: str = "GET",
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        what: str = "",
    ) -> Fetched:
        """The final response's body (2xx), or a `ToolFailure` explaining why not.

        `what` names the endpoint in messages when the URL itself should not be shown.
        """
        s = self.settings
        label = what or url
        try:
            async with asyncio.timeout(s.total_timeout_s):
                return await self._follow(url, accept, method, json, headers, label)
        except TimeoutError:
            raise ToolFailure(
                f"{label} took longer than {s.total_timeout_s:g} s in total; gave up"
            ) from None
        except httpx.TimeoutException as exc:
            kind = "connecting" if isinstance(exc, httpx.ConnectTimeout) else "waiting for data"
            raise ToolFailure(f"{label} timed out while {kind}") from None
        except httpx.TransportError as exc:
            raise ToolFailure(f"could not reach {label}: {exc or type(exc).__name__}") from None
        except httpx.HTTPError as exc:  # e.g. a body that claims gzip and is not
            raise ToolFailure(f"could not read {label}: {exc or type(exc).__name__}") from None

    async def _follow(
        self,
        url: str,
        accept: AcceptType,
        method: str,
        json: Any,
        headers: Mapping[str, str] | None,
        label: str,
    ) -> Fetched:
        policy = self.web.policy
        hops: list[str] = []
        current: httpx.URL = policy.check_url(url).url
        while True:
            request = self.web.client().build_request(method, current, json=json, headers=headers)
            response = await self._send(request)
            try:
                if response.is_redirect:
                    location = response.headers.get("location", "")
                    if method != "GET":
                        raise ToolFailure(f"{label} answered with an unexpected redirect")
                    if len(hops) >= self.settings.max_redirects:
                        raise ToolFailure(
                            f"{label} redirected more than {self.settings.max_redirects} times"
                        )
                    hops.append(str(current))
                    try:
                        target = current.join(location)
                    except httpx.InvalidURL:
                        raise Refused(f"{label} redirected to an invalid URL") from None
                    current = policy.check_url(target).url
                    continue
                fetched = await self._read(response, current, accept, label, tuple(hops))
                log.info(
                    "web.fetched",
                    host=current.host,
                    status=fetched.status,
                    bytes=len(fetched.body),
                    redirects=len(hops),
                )
                return fetched
            finally:
                await response.aclose()

    async def _read(
        self,
        response: httpx.Response,
        url: httpx.URL,
        accept: AcceptType,
        label: str,
        hops: tuple[str, ...],
    ) -> Fetched:
        if not 200 <= response.status_code < 300:
            reason = response.reason_phrase or "without a usable answer"
            raise HttpStatusFailure(
                f"{label} answered HTTP {response.status_code} {reason}", response.status_code
            )
        media, charset = _media_type(response)
        if not accept(media):
            shown = media or "no content type"
            raise NotText(f"{label} is {shown}, not a readable text page; it was not downloaded")
        cap = self.settings.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise TooLarge(f"{label} is {int(declared):,} bytes, over the {cap:,}-byte limit")
        body = bytearray()
        # Decoded bytes are counted, so a small compressed body cannot inflate past the cap.
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > cap:
                raise TooLarge(f"{label} is larger than the {cap:,}-byte limit; stopped reading")
        return Fetched(
            url=str(url),
            status=response.status_code,
            media_type=media,
            charset=charset,
            body=bytes(body),
            redirects=hops,
        )
