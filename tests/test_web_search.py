"""web_search's backends against fakes that answer in the real APIs' documented shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.web_fakes import (
    YANDEX_FOLDER,
    YANDEX_KEY,
    FakeWeb,
    fake_web_settings,
    runtime_for,
    serve,
    yandex_xml,
)
from tools.errors import ToolFailure
from tools.web.client import WebRuntime
from tools.web.lang import query_language
from tools.web.lookup import search_text
from tools.web.settings import WebSettings
from tools.web.wikipedia import article_url
from tools.web.yandex import parse_xml


@pytest.fixture
async def web() -> AsyncIterator[FakeWeb]:
    async with serve(FakeWeb()) as fake:
        yield fake


@pytest.fixture
async def wiki(web: FakeWeb) -> AsyncIterator[WebRuntime]:
    runtime, _ = runtime_for(fake_web_settings(web.port))
    yield runtime
    await runtime.aclose()


@pytest.fixture
async def yandex(web: FakeWeb) -> AsyncIterator[WebRuntime]:
    settings = fake_web_settings(
        web.port,
        search_backend="yandex",
        yandex_api_key=YANDEX_KEY,
        yandex_folder_id=YANDEX_FOLDER,
    )
    runtime, _ = runtime_for(settings)
    yield runtime
    await runtime.aclose()


@pytest.mark.parametrize(
    ("query", "lang"),
    [
        ("capital of France", "en"),
        ("Кто такой Пушкин?", "ru"),
        ("Що таке Київ", "uk"),
        ("Беларуская мова ў школе", "be"),
        ("東京タワー", "ja"),
        ("北京大学", "zh"),
        ("서울", "ko"),
        ("Αθήνα", "el"),
        ("iPhone 15 обзор", "ru"),
        ("2024", "en"),
    ],
)
def test_query_language_follows_the_script(query: str, lang: str) -> None:
    assert query_language(query, "en") == lang


async def test_wikipedia_english(web: FakeWeb, wiki: WebRuntime) -> None:
    text = await search_text(wiki, "  capital   of France ", 3)
    request = web.requests[-1]
    assert request.url.path == "/en/w/api.php"
    params = request.query_params
    assert params["action"] == "query" and params["list"] == "search"
    assert params["srsearch"] == "capital of France" and params["srlimit"] == "3"
    assert params["format"] == "json" and params["formatversion"] == "2"
    assert request.headers["user-agent"].startswith("agents-app-researcher/")
    lines = text.splitlines()
    assert lines[0] == 'Search results for "capital of France" (wikipedia, language: en):'
    assert lines[1] == "1. Paris"
    assert lines[2] == f"   http://127.0.0.1:{web.port}/en/wiki/Paris"
    assert lines[3] == "   Paris is the capital of France"  # markup gone, text kept
    assert text.count("http://") == 3
    assert "More about capital of France & co." in text  # entities decoded


async def test_wikipedia_russian_query_goes_to_russian_wikipedia(
    web: FakeWeb, wiki: WebRuntime
) -> None:
    text = await search_text(wiki, "Москва столица", 2)
    assert web.requests[-1].url.path == "/ru/w/api.php"
    assert "(wikipedia, language: ru)" in text
    assert "1. Москва" in text
    assert f"http://127.0.0.1:{web.port}/ru/wiki/%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0" in text
    assert "Москва — столица России" in text


async def test_wikipedia_api_error_is_a_tool_failure(wiki: WebRuntime) -> None:
    with pytest.raises(ToolFailure, match="internal_api_error_DBQueryError A database error"):
        await search_text(wiki, "db down", 3)
    with pytest.raises(ToolFailure, match="the search query is empty"):
        await search_text(wiki, "   ", 3)


async def test_wikipedia_unreachable_is_a_tool_failure() -> None:
    runtime, _ = runtime_for(WebSettings())  # the real URL; names never resolve in tests
    with pytest.raises(ToolFailure, match=r"could not resolve en\.wikipedia\.org"):
        await search_text(runtime, "capital of France", 3)
    await runtime.aclose()


def test_article_urls_match_mediawiki() -> None:
    base = "https://en.wikipedia.org"
    assert article_url(base, "Paris") == "https://en.wikipedia.org/wiki/Paris"
    assert article_url(base, "C (programming language)") == (
        "https://en.wikipedia.org/wiki/C_(programming_language)"
    )
    assert article_url(base, "AC/DC") == "https://en.wikipedia.org/wiki/AC/DC"
    assert article_url(base, "100% Pure") == "https://en.wikipedia.org/wiki/100%25_Pure"


async def test_yandex_request_and_results(web: FakeWeb, yandex: WebRuntime) -> None:
    text = await search_text(yandex, "Москва столица", 2)
    request = web.requests[-1]
    assert request.method == "POST" and request.url.path == "/yandex/v2/web/search"
    assert request.headers["authorization"] == f"Api-Key {YANDEX_KEY}"
    body = web.yandex_bodies[-1]
    assert body["folderId"] == YANDEX_FOLDER
    assert body["query"]["queryText"] == "Москва столица"
    assert body["query"]["searchType"] == "SEARCH_TYPE_RU" and body["l10n"] == "LOCALIZATION_RU"
    assert body["groupSpec"]["groupsOnPage"] == "2" and body["responseFormat"] == "FORMAT_XML"
    assert "(yandex, language: ru)" in text
    assert "1. Москва — столица" in text  # <hlword> markup flattened
    assert "Москва — столица России" in text
    assert "2. Second hit" in text and "Another passage" in text


async def test_yandex_english_query_uses_the_international_search(
    web: FakeWeb, yandex: WebRuntime
) -> None:
    await search_text(yandex, "capital of France", 5)
    body = web.yandex_bodies[-1]
    assert body["query"]["searchType"] == "SEARCH_TYPE_COM" and body["l10n"] == "LOCALIZATION_EN"


async def test_yandex_no_results_and_errors(web: FakeWeb, yandex: WebRuntime) -> None:
    web.yandex_error = ("15", "Sorry, there are no results for this search")
    assert "no results" in await search_text(yandex, "qwertyuiop asdfgh", 3)
    web.yandex_error = ("55", "Too many requests")
    with pytest.raises(ToolFailure, match="Yandex Search API error 55: Too many requests"):
        await search_text(yandex, "anything", 3)


async def test_yandex_bad_key_is_explained_without_the_key(web: FakeWeb) -> None:
    settings = fake_web_settings(
        web.port,
        search_backend="yandex",
        yandex_api_key="AQVN-wrong-key-999999",
        yandex_folder_id=YANDEX_FOLDER,
    )
    runtime, _ = runtime_for(settings)
    with pytest.raises(ToolFailure) as caught:
        await search_text(runtime, "Москва", 3)
    message = str(caught.value)
    assert "HTTP 401" in message and "search-api.webSearch.user" in message
    assert "AQVN-wrong-key" not in message
    assert web.seen("/yandex/v2/web/search") == 1  # 4xx is not retried
    await runtime.aclose()


def test_yandex_backend_needs_its_credentials() -> None:
    with pytest.raises(ValueError, match="WEB_YANDEX_API_KEY and WEB_YANDEX_FOLDER_ID"):
        WebSettings(search_backend="yandex", yandex_api_key=None, yandex_folder_id=None)


def test_yandex_xml_parsing_is_robust() -> None:
    xml = yandex_xml([("https://example.org/a", "A <hlword>b</hlword> c", "")]).encode()
    [hit] = parse_xml(xml, 5)
    assert (hit.title, hit.url, hit.snippet) == ("A b c", "https://example.org/a", "Headline 0")
    with pytest.raises(ToolFailure, match="unreadable"):
        parse_xml(b"<yandexsearch><response>", 5)
