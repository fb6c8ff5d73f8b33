"""Test doubles for the web tools: DNS answers, a loopback-only dialer, a fake web on 127.0.0.1.

The fake web answers in the real services' documented shapes (MediaWiki Action API JSON, the
Yandex Search API v2 `{"rawData": base64 XML}`) and serves the awkward pages a reader meets:
huge, slow, stalled, binary, mis-encoded, redirecting into private space.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import gzip
import ipaddress
import ssl
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpcore
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from agents_app.server.in_loop import serving
from tools.web.client import WebRuntime
from tools.web.settings import WebSettings
from tools.web.ssrf import IPAddress
from tools.web.transport import Unresolvable

YANDEX_KEY = "AQVN-test-search-key-0123456789"
YANDEX_FOLDER = "b1gtestfolder"


class StaticResolver:
    """DNS as a table; names not in it do not resolve. Counts lookups per name."""

    def __init__(self, table: dict[str, Sequence[str]] | None = None) -> None:
        self.table = {k: [ipaddress.ip_address(a) for a in v] for k, v in (table or {}).items()}
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        self.lookups.append(host)
        if host not in self.table:
            raise Unresolvable(f"could not resolve {host} (no DNS in tests)")
        return self.table[host]


class LoopbackOnlyConnector(httpcore.AsyncNetworkBackend):
    """The raw dialer under the guard, for tests: it dials 127.0.0.1 and nothing else.

    A safety net — if the guard ever let a private or public address through, the test
    fails here instead of sending a packet anywhere but this machine.
    """

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.dialled: list[tuple[str, int]] = []
        self.refused: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if host != "127.0.0.1":
            self.refused.append(host)
            raise AssertionError(f"the guard let a connection to {host} through")
        self.dialled.append((host, port))
        return await self.inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def fake_web_settings(port: int | None = None, **overrides: Any) -> WebSettings:
    """Fast settings for tests; with a port, the fake web on 127.0.0.1 is reachable."""
    base: dict[str, Any] = {
        "connect_timeout_s": 2.0,
        "read_timeout_s": 2.0,
        "total_timeout_s": 5.0,
        "retry_backoff_s": 0.01,
        "retry_max_backoff_s": 0.05,
        "max_bytes": 256 * 1024,
        "yandex_api_key": None,
        "yandex_folder_id": None,
    }
    if port is not None:
        base |= {
            "allow_loopback_for_tests": True,
            "allowed_ports": [port],
            "wikipedia_url": f"http://127.0.0.1:{port}/{{lang}}",
            "yandex_url": f"http://127.0.0.1:{port}/yandex",
        }
    return WebSettings(**(base | overrides))


def runtime_for(
    settings: WebSettings,
    resolver: StaticResolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[WebRuntime, LoopbackOnlyConnector]:
    connector = LoopbackOnlyConnector()
    web = WebRuntime(
        settings,
        resolver=resolver or StaticResolver(),
        connector=connector,
        ssl_context=ssl_context,
    )
    return web, connector


# --- the fake web -------------------------------------------------------------------------

PARIS_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>Paris – Wiki</title>
<style>body{color:red}</style><script>var tracking = "do not show me";</script></head>
<body><nav><a href="/">Home</a> | <a href="/about">About us</a> | Log in</nav>
<main><article><h1>Paris</h1>
<p>Paris is the capital and largest city of France. It has been the seat of government since
the tenth century, and today it is home to more than two million people.</p>
<p>The city is known for the Eiffel Tower, built in 1889, and for the Louvre, the most visited
art museum in the world, which opened to the public in 1793.</p>
</article></main><footer>Copyright 2026 · Privacy · Terms</footer></body></html>"""

RUSSIAN_TEXT = (
    "Москва - столица России, крупнейший по численности населения город страны. "
    "Город расположен на реке Москве в центре Восточно-Европейской равнины. "
) * 6


def _russian_page(charset_meta: str) -> str:
    return (
        f'<html><head><meta charset="{charset_meta}"><title>Москва</title></head>'
        f"<body><article><h1>Москва</h1><p>{RUSSIAN_TEXT}</p></article></body></html>"
    )


def mediawiki_answer(lang: str, query: str, limit: int) -> dict[str, Any]:
    """`action=query&list=search&formatversion=2` as MediaWiki answers it."""
    titles = {
        "en": [("Paris", '<span class="searchmatch">Paris</span> is the capital of France')],
        "ru": [("Москва", '<span class="searchmatch">Москва</span> &mdash; столица России')],
    }.get(lang, [])
    extra = [(f"{query} {n}", f"More about {query} &amp; co.") for n in range(2, 12)]
    hits = [*titles, *extra][:limit]
    return {
        "batchcomplete": True,
        "continue": {"sroffset": limit, "continue": "-||"},
        "query": {
            "searchinfo": {"totalhits": 4711},
            "search": [
                {
                    "ns": 0,
                    "title": title,
                    "pageid": 1000 + i,
                    "size": 12345,
                    "wordcount": 2345,
                    "snippet": snippet,
                    "timestamp": "2026-01-02T03:04:05Z",
                }
                for i, (title, snippet) in enumerate(hits)
            ],
        },
    }


def yandex_xml(docs: Sequence[tuple[str, str, str]], error: tuple[str, str] | None = None) -> str:
    """The `<yandexsearch>` document of Yandex Search API's XML format."""
    if error is not None:
        body = f'<error code="{error[0]}">{error[1]}</error>'
    else:
        groups = "".join(
            f"""<group><categ attr="d" name="g{i}"/><doccount>1</doccount>
            <relevance priority="all"/><doc id="D{i}"><relevance priority="phrase"/>
            <url>{url}</url><domain>example.org</domain><title>{title}</title>
            <headline>Headline {i}</headline><modtime>20260101T000000</modtime>
            <size>1000</size><charset>utf-8</charset>
            <passages><passage>{passage}</passage></passages>
            <properties><_PassagesType>0</_PassagesType><lang>ru</lang></properties>
            <mime-type>text/html</mime-type></doc></group>"""
            for i, (url, title, passage) in enumerate(docs)
        )
        body = f"""<reqid>1-2-3-XML</reqid><found priority="all">{len(docs)}</found>
        <results><grouping attr="" mode="flat" groups-on-page="{len(docs)}" docs-in-group="1">
        <found priority="all">{len(docs)}</found><page first="1" last="{len(docs)}">0</page>
        {groups}</grouping></results>"""
    return f"""<?xml version="1.0" encoding="utf-8"?><yandexsearch version="1.0"><request>
    <query>q</query><page>0</page></request><response date="20260101T000000">{body}
    </response></yandexsearch>"""


@functools.cache
def _gzip_bomb() -> bytes:
    return gzip.compress(bytes(20 * 1024 * 1024), compresslevel=9)


@dataclass
class FakeWeb:
    """Routes and what they saw. `port` is known once the server is up."""

    port: int = 0
    requests: list[Request] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)
    bytes_streamed: int = 0
    yandex_bodies: list[dict[str, Any]] = field(default_factory=list)
    yandex_error: tuple[str, str] | None = None

    def seen(self, path: str) -> int:
        return self.hits.get(path, 0)

    def app(self) -> Starlette:
        routes = [
            Route("/{lang}/w/api.php", self.mediawiki),
            Route("/{lang}/wiki/{title:path}", self.article),
            Route("/yandex/v2/web/search", self.yandex, methods=["POST"]),
            Route("/{name:path}", self.page),
        ]
        return Starlette(routes=routes)

    def _count(self, request: Request) -> None:
        self.requests.append(request)
        self.hits[request.url.path] = self.hits.get(request.url.path, 0) + 1

    async def mediawiki(self, request: Request) -> Response:
        self._count(request)
        q = request.query_params
        lang = request.path_params["lang"]
        if q.get("action") != "query" or q.get("list") != "search" or q.get("format") != "json":
            return JSONResponse({"error": {"code": "badparams", "info": "Unsupported request."}})
        if q.get("srsearch") == "db down":
            # MediaWiki reports failures in a 200 answer with an "error" object.
            error = {"code": "internal_api_error_DBQueryError", "info": "A database error."}
            return JSONResponse({"error": error, "servedby": "mw1234"})
        return JSONResponse(mediawiki_answer(lang, q["srsearch"], int(q.get("srlimit", "10"))))

    async def article(self, request: Request) -> Response:
        self._count(request)
        title = request.path_params["title"]
        if title == "Paris":
            return Response(PARIS_HTML, media_type="text/html; charset=utf-8")
        return Response(
            f"<html><head><title>{title}</title></head><body><p>About {title}.</p></body></html>",
            media_type="text/html",
        )

    async def yandex(self, request: Request) -> Response:
        self._count(request)
        if request.headers.get("authorization") != f"Api-Key {YANDEX_KEY}":
            return JSONResponse({"code": 16, "message": "Unauthenticated", "details": []}, 401)
        body = await request.json()
        self.yandex_bodies.append(body)
        docs = [
            (
                f"http://127.0.0.1:{self.port}/ru/wiki/Москва",
                "<hlword>Москва</hlword> — столица",
                "<hlword>Москва</hlword> — столица России",
            ),
            (f"http://127.0.0.1:{self.port}/doc2", "Second hit", "Another passage"),
        ]
        xml = yandex_xml(docs, self.yandex_error)
        return JSONResponse({"rawData": base64.b64encode(xml.encode()).decode()})

    async def page(self, request: Request) -> Response:
        self._count(request)
        name = request.path_params["name"]
        handler = getattr(self, "page_" + name.replace("-", "_").replace("/", "_"), None)
        if handler is None:
            return PlainTextResponse("not found", status_code=404)
        result: Response = await handler(request)
        return result

    async def page_plain(self, request: Request) -> Response:
        return PlainTextResponse("Just words.\nTwo lines of them.")

    async def page_cp1251(self, request: Request) -> Response:
        # No charset in the header: the page's <meta> is the only clue.
        return Response(_russian_page("windows-1251").encode("cp1251"), media_type="text/html")

    async def page_mislabelled(self, request: Request) -> Response:
        # The header claims UTF-8; the bytes are KOI8-R.
        body = _russian_page("utf-8").encode("koi8-r")
        return Response(body, headers={"content-type": "text/html; charset=utf-8"})

    async def page_bogus_charset(self, request: Request) -> Response:
        return Response(
            "<html><body><p>Crème brûlée, naïve café.</p></body></html>".encode(),
            headers={"content-type": "text/html; charset=no-such-charset"},
        )

    async def page_image(self, request: Request) -> Response:
        return Response(b"\x89PNG\r\n\x1a\n" + bytes(2000), media_type="image/png")

    async def page_octets(self, request: Request) -> Response:
        return Response(bytes(range(256)) * 10, media_type="application/octet-stream")

    async def page_disguised_binary(self, request: Request) -> Response:
        return Response(b"GIF89a\x00\x01\x00\x00" + bytes(500), media_type="text/html")

    async def page_huge(self, request: Request) -> Response:
        """1 GB announced by nothing: only the byte cap stops the reader."""

        async def body() -> AsyncIterator[bytes]:
            chunk = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>\n"
            for _ in range(16 * 1024):  # 16 Ki × 64 KiB = 1 GiB
                self.bytes_streamed += len(chunk)
                yield chunk

        return StreamingResponse(body(), media_type="text/html")

    async def page_huge_declared(self, request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(16 * 1024):
                self.bytes_streamed += 64 * 1024
                yield b"x" * (64 * 1024)

        return StreamingResponse(
            body(), media_type="text/html", headers={"content-length": str(1 << 30)}
        )

    async def page_gzip_bomb(self, request: Request) -> Response:
        """20 MB of zeros that travel as ~20 KB of gzip: the cap counts the inflated bytes."""
        return Response(
            _gzip_bomb(), headers={"content-type": "text/html", "content-encoding": "gzip"}
        )

    async def page_bad_gzip(self, request: Request) -> Response:
        return Response(
            b"this is not gzip at all",
            headers={"content-type": "text/html", "content-encoding": "gzip"},
        )

    async def page_slow(self, request: Request) -> Response:
        """Each byte in time for the read timeout; the whole never in time for the total."""

        async def body() -> AsyncIterator[bytes]:
            for _ in range(200):
                await asyncio.sleep(0.1)
                yield b"<p>drip</p>"

        return StreamingResponse(body(), media_type="text/html")

    async def page_stall(self, request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b"<html><body><p>first bytes</p>"
            await asyncio.sleep(30)
            yield b"</body></html>"

        return StreamingResponse(body(), media_type="text/html")

    async def page_flaky(self, request: Request) -> Response:
        if self.seen("/flaky") < 3:
            return PlainTextResponse("busy", status_code=503)
        return PlainTextResponse("third time lucky")

    async def page_always_503(self, request: Request) -> Response:
        return PlainTextResponse("down", status_code=503)

    async def page_rate_limited(self, request: Request) -> Response:
        if self.seen("/rate-limited") < 2:
            return PlainTextResponse("slow down", status_code=429, headers={"retry-after": "0"})
        return PlainTextResponse("welcome back")

    async def page_gone(self, request: Request) -> Response:
        return PlainTextResponse("gone", status_code=404)

    async def page_redirect(self, request: Request) -> Response:
        return Response(status_code=302, headers={"location": request.query_params["to"]})

    async def page_loop(self, request: Request) -> Response:
        return Response(status_code=301, headers={"location": "/loop"})

    async def page_hop(self, request: Request) -> Response:
        left = int(request.query_params.get("n", "0"))
        target = f"/hop?n={left - 1}" if left > 0 else "/plain"
        return Response(status_code=307, headers={"location": target})

    async def page_echo_host(self, request: Request) -> Response:
        return PlainTextResponse(f"host={request.headers.get('host')}")


@contextlib.asynccontextmanager
async def serve(web: FakeWeb, **options: Any) -> AsyncIterator[FakeWeb]:
    """Serve on 127.0.0.1 (a free port); `options` go to uvicorn (e.g. TLS key and cert)."""
    # force_exit: streaming pages may still be "sending" to a reader that has gone.
    app = web.app()
    async with serving(app, lifespan="off", access_log=False, force_exit=True, **options) as served:
        web.port = served.port
        yield web
