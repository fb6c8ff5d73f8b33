"""`fetch_url`: read one public web page as plain text.

Only the tool's signature lives here, so a graph that offers the tool costs no more than its
schema; the reader (`tools.web.page`) is imported when the tool first runs.
"""

from __future__ import annotations

from typing import Annotated

from agents import function_tool
from pydantic import Field

DEFAULT_MAX_CHARS = 6000


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
    from tools.web.client import runtime
    from tools.web.page import read_page

    return await read_page(runtime(), url, max_chars)
