"""`web_search`: find pages on the web; the backend (Wikipedia or Yandex) is chosen in config.

Only the tool's signature lives here; the search itself (`tools.web.lookup`, with the HTTP
client) is imported when the tool first runs.
"""

from __future__ import annotations

from typing import Annotated

from agents import function_tool
from pydantic import Field


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
    from tools.web.client import runtime
    from tools.web.lookup import search_text

    return await search_text(runtime(), query, limit)
