"""`web_search`: find pages on the web; the backend (Wikipedia or Yandex) is chosen in config."""

from __future__ import annotations

from typing import Annotated

from agents import function_tool
from pydantic import Field

from tools.errors import ToolFailure
from tools.web.client import WebRuntime, runtime
from tools.web.hits import SearchBackend, format_results
from tools.web.settings import SearchBackendName
from tools.web.wikipedia import WikipediaBackend
from tools.web.yandex import YandexBackend

BACKENDS: dict[SearchBackendName, SearchBackend] = {
    "wikipedia": WikipediaBackend(),
    "yandex": YandexBackend(),
}


async def search_text(web: WebRuntime, query: str, limit: int) -> str:
    query = " ".join(query.split())
    if not query:
        raise ToolFailure("the search query is empty")
    backend = BACKENDS[web.settings.search_backend]
    return format_results(query, await backend.search(web, query, limit))


@function_tool
async def web_search(
    query: Annotated[str, Field(min_length=1, max_length=400)],
    limit: Annotated[int, Field(ge=1, le=10)] = 5,
) -> str:
    """Search the web; returns the title, URL and a snippet of each hit, best first.

    Write the query in the user's language: it decides which language's sources are searched.
    Then read the most promising hits with fetch_url before answering.

    Args:
        query: What to look for: a few precise keywords work best.
        limit: How many hits to return (1-10).
    """
    return await search_text(runtime(), query, limit)
