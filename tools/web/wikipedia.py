"""Wikipedia search through the MediaWiki Action API (`action=query&list=search`); no key.

Request: `GET {base}/w/api.php?action=query&list=search&srsearch=…&format=json&formatversion=2`
where `{base}` is `WEB_WIKIPEDIA_URL` with `{lang}` set to the query's language. Answer:
`{"query": {"search": [{"title", "pageid", "snippet", …}]}}`, or `{"error": {"code", "info"}}`.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from tools.errors import ToolFailure
from tools.web.client import WebRuntime
from tools.web.extract import markup_to_text
from tools.web.hits import Hit, Results
from tools.web.http import Exchange
from tools.web.lang import query_language


class _SearchHit(BaseModel):
    title: str
    snippet: str = ""


class _Query(BaseModel):
    search: list[_SearchHit] = []


class _Error(BaseModel):
    code: str = "unknown"
    info: str = ""


class _Answer(BaseModel):
    query: _Query | None = None
    error: _Error | None = None


def _json_type(media_type: str) -> bool:
    return media_type in ("application/json", "text/json") or media_type.endswith("+json")


def article_url(base: str, title: str) -> str:
    # MediaWiki's own form: spaces become underscores; ":" "/" "(" ")" stay readable.
    return f"{base}/wiki/{quote(title.replace(' ', '_'), safe=':/(),!*-._~')}"


class WikipediaBackend:
    name = "wikipedia"

    async def search(self, web: WebRuntime, query: str, limit: int) -> Results:
        settings = web.settings
        lang = query_language(query, settings.wikipedia_default_lang)
        base = settings.wikipedia_url.replace("{lang}", lang).rstrip("/")
        params = {
            "action": "query",
            "list": "search",
            "srsearch": query,
            "srlimit": str(limit),
            "srprop": "snippet",
            "format": "json",
            "formatversion": "2",
            "utf8": "1",
        }
        url = str(httpx.URL(f"{base}/w/api.php", params=params))
        fetched = await Exchange(web).request(
            url, accept=_json_type, what=f"Wikipedia search ({lang})"
        )
        try:
            answer = _Answer.model_validate_json(fetched.body)
        except ValidationError:
            raise ToolFailure(f"Wikipedia search ({lang}) sent an unreadable answer") from None
        if answer.error is not None:
            raise ToolFailure(
                f"Wikipedia search ({lang}) refused the query: {answer.error.code} "
                f"{answer.error.info}".strip()
            )
        found = answer.query.search if answer.query is not None else []
        hits = [
            Hit(
                title=hit.title,
                url=article_url(base, hit.title),
                snippet=markup_to_text(hit.snippet),
            )
            for hit in found[:limit]
        ]
        return Results(backend=self.name, language=lang, hits=hits)
