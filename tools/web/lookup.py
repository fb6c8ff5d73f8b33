"""Searching the web: what `web_search` does when it runs, with the backend config chooses.

Imported by `tools.web.search` on the tool's first call (it brings the HTTP client).
"""

from __future__ import annotations

from tools.errors import ToolFailure
from tools.web.client import WebRuntime
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
