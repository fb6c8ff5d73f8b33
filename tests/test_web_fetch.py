"""fetch_url against a fake web on 127.0.0.1: text, charsets, caps, timeouts, retries, redirects."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.web_fakes import (
    RUSSIAN_TEXT,
    FakeWeb,
    LoopbackOnlyConnector,
    fake_web_settings,
    runtime_for,
    serve,
)
from tools.errors import ToolFailure
from tools.web.client import WebRuntime
from tools.web.http import HttpStatusFailure, NotText, TooLarge
from tools.web.page import read_page
from tools.web.settings import DEFAULT_USER_AGENT


@pytest.fixture
async def web() -> AsyncIterator[FakeWeb]:
    async with serve(FakeWeb()) as fake:
        yield fake


Net = tuple[WebRuntime, LoopbackOnlyConnector]


@pytest.fixture
async def net(web: FakeWeb) -> AsyncIterator[Net]:
    runtime, dialler = runtime_for(fake_web_settings(web.port))
    yield runtime, dialler
    await runtime.aclose()


def url(web: FakeWeb, path: str) -> str:
    return f"http://127.0.0.1:{web.port}{path}"


async def read(net: Net, web: FakeWeb, path: str) -> str:
    return await read_page(net[0], url(web, path), 5000)


async def test_html_becomes_main_text_with_title_and_url(web: FakeWeb, net: Net) -> None:
    page = await read(net, web, "/en/wiki/Paris")
    header, _, body = page.partition("\n\n")
    assert "Title: Paris – Wiki" in header
    assert f"URL: {url(web, '/en/wiki/Paris')}" in header
    assert "Content-Type: text/html; charset=utf-8" in header
    assert "Paris is the capital and largest city of France." in body
    assert "Louvre" in body
    for boilerplate in ("tracking", "color:red", "About us", "Copyright", "Log in"):
        assert boilerplate not in body
    assert web.requests[-1].headers["user-agent"] == DEFAULT_USER_AGENT


async def test_plain_text_is_returned_as_is(web: FakeWeb, net: Net) -> None:
    page = await read(net, web, "/plain")
    assert page.endswith("\n\nJust words.\nTwo lines of them.")
    assert "Content-Type: text/plain" in page


async def test_max_chars_cuts_and_says_so(web: FakeWeb, net: Net) -> None:
    page = await read_page(net[0], url(web, "/en/wiki/Paris"), 200)
    body = page.partition("\n\n")[2]
    assert body.startswith("Paris")
    assert "[… cut at 200 of " in body
    assert len(body) < 260


@pytest.mark.parametrize("path", ["/cp1251", "/mislabelled"])
async def test_russian_pages_in_legacy_charsets_decode(web: FakeWeb, net: Net, path: str) -> None:
    page = await read(net, web, path)
    assert "Title: Москва" in page
    assert RUSSIAN_TEXT.split(".")[0] in page
    assert "\ufffd" not in page


async def test_unknown_charset_label_falls_back(web: FakeWeb, net: Net) -> None:
    page = await read(net, web, "/bogus-charset")
    assert "Crème brûlée, naïve café." in page


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/image", "image/png, not a readable text page"),
        ("/octets", "application/octet-stream, not a readable text page"),
        ("/disguised-binary", "binary data"),
    ],
)
async def test_binary_is_refused(web: FakeWeb, net: Net, path: str, says: str) -> None:
    with pytest.raises(NotText, match=says):
        await read(net, web, path)


async def test_a_gigabyte_stream_stops_at_the_byte_cap(web: FakeWeb, net: Net) -> None:
    with pytest.raises(TooLarge, match="larger than the 262,144-byte limit"):
        await read(net, web, "/huge")
    # The server could only push what fits in socket buffers before the reader hung up.
    assert web.bytes_streamed < 32 * 1024 * 1024


async def test_a_declared_gigabyte_is_not_downloaded_at_all(web: FakeWeb, net: Net) -> None:
    with pytest.raises(TooLarge, match="1,073,741,824 bytes, over the 262,144-byte limit"):
        await read(net, web, "/huge-declared")
    assert web.bytes_streamed < 32 * 1024 * 1024


async def test_a_compressed_bomb_stops_at_the_byte_cap(web: FakeWeb, net: Net) -> None:
    with pytest.raises(TooLarge, match="larger than the 262,144-byte limit"):
        await read(net, web, "/gzip-bomb")


async def test_a_body_that_lies_about_its_encoding_is_readable_failure(
    web: FakeWeb, net: Net
) -> None:
    with pytest.raises(ToolFailure, match=r"could not read http://127\.0\.0\.1:\d+/bad-gzip"):
        await read(net, web, "/bad-gzip")


async def test_slow_page_hits_the_total_deadline(web: FakeWeb) -> None:
    runtime, _ = runtime_for(fake_web_settings(web.port, total_timeout_s=0.5))
    with pytest.raises(ToolFailure, match=r"took longer than 0\.5 s in total"):
        await read_page(runtime, url(web, "/slow"), 1000)
    await runtime.aclose()


async def test_stalled_page_hits_the_read_timeout(web: FakeWeb) -> None:
    runtime, _ = runtime_for(fake_web_settings(web.port, read_timeout_s=0.3))
    with pytest.raises(ToolFailure, match="timed out while waiting for data"):
        await read_page(runtime, url(web, "/stall"), 1000)
    await runtime.aclose()


async def test_5xx_is_retried_with_backoff_then_succeeds(web: FakeWeb, net: Net) -> None:
    page = await read(net, web, "/flaky")
    assert "third time lucky" in page
    assert web.seen("/flaky") == 3


async def test_429_is_retried(web: FakeWeb, net: Net) -> None:
    assert "welcome back" in await read(net, web, "/rate-limited")
    assert web.seen("/rate-limited") == 2


async def test_retries_are_bounded(web: FakeWeb, net: Net) -> None:
    with pytest.raises(HttpStatusFailure, match="answered HTTP 503") as caught:
        await read(net, web, "/always-503")
    assert caught.value.status == 503
    assert web.seen("/always-503") == 3  # max_retries=2: three attempts in all


async def test_404_is_not_retried(web: FakeWeb, net: Net) -> None:
    with pytest.raises(HttpStatusFailure, match="answered HTTP 404 Not Found"):
        await read(net, web, "/gone")
    assert web.seen("/gone") == 1


async def test_redirects_are_followed_and_reported(web: FakeWeb, net: Net) -> None:
    page = await read(net, web, "/hop?n=3")
    assert "Just words." in page
    assert f"URL: {url(web, '/plain')}" in page
    assert f"Redirected from: {url(web, '/hop?n=3')}" in page


async def test_redirects_are_bounded(web: FakeWeb, net: Net) -> None:
    with pytest.raises(ToolFailure, match="redirected more than 5 times"):
        await read(net, web, "/loop")
    assert web.seen("/loop") == 6


async def test_connection_refused_is_readable(web: FakeWeb) -> None:
    runtime, dialler = runtime_for(fake_web_settings(1, max_retries=1, allowed_ports=[1]))
    with pytest.raises(ToolFailure, match=r"could not reach http://127\.0\.0\.1:1/"):
        await read_page(runtime, "http://127.0.0.1:1/", 1000)
    assert dialler.dialled == [("127.0.0.1", 1), ("127.0.0.1", 1)]  # one retry
    await runtime.aclose()


async def test_one_pooled_client_serves_many_requests(web: FakeWeb, net: Net) -> None:
    runtime, dialler = net
    client = runtime.client()
    for _ in range(3):
        await read(net, web, "/plain")
    assert runtime.client() is client
    assert len(dialler.dialled) == 1  # keep-alive: one TCP connection for all three
