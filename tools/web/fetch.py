"""`fetch_url`: read one public web page as plain text."""

from __future__ import annotations

import asyncio
from typing import Annotated

from agents import function_tool
from pydantic import Field

from tools.web.client import WebRuntime, runtime
from tools.web.extract import is_text_type, page_text
from tools.web.http import Exchange

DEFAULT_MAX_CHARS = 6000


async def read_page(web: WebRuntime, url: str, max_chars: int) -> str:
    """The page as a short header (title, final URL, type) and its text, cut to `max_chars`."""
    fetched = await Exchange(web).request(url, accept=is_text_type)
    page = await asyncio.to_thread(
        page_text, fetched.body, fetched.media_type, fetched.charset, fetched.url
    )
    limit = min(max_chars, web.settings.max_chars_limit)
    text = page.text or "(the page has no readable text)"
    if len(text) > limit:
        text = text[:limit].rstrip() + f"\n[… cut at {limit:,} of {len(page.text):,} characters]"
    lines = [f"Title: {page.title}"] if page.title else []
    lines.append(f"URL: {fetched.url}")
    if fetched.redirects:
        lines.append(f"Redirected from: {fetched.redirects[0]}")
    lines.append(f"Content-Type: {fetched.media_type or 'unknown'}; charset={page.encoding}")
    return "\n".join(lines) + "\n\n" + text


@function_tool
async def fetch_url(
    url: Annotated[str, Field(min_length=1, max_length=2048)],
    max_chars: Annotated[int, Field(ge=200, le=20_000)] = DEFAULT_MAX_CHARS,
) -> str:
    """Read a public web page (HTML or plain text) and return its main text.

    Use it on the best URLs from web_search to read the sources before answering. Only public
    http(s) addresses can be read; binary files (images, PDFs, archives) are refused.

    Args:
        url: The http or https URL to read.
        max_chars: At most this many characters of page text are returned.
    """
    return await read_page(runtime(), url, max_chars)
