"""Reading one public web page as plain text: what `fetch_url` does when it runs.

Its imports (the guarded HTTP client, charset detection; trafilatura on the first HTML page)
are the web tools' weight, so `tools.web.fetch` imports this module on the tool's first call.
"""

from __future__ import annotations

import asyncio

from tools.web.client import WebRuntime
from tools.web.extract import is_text_type, page_text
from tools.web.http import Exchange


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
