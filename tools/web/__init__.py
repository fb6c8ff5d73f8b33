"""The researcher's web tools: `web_search` and `fetch_url`, behind an SSRF guard.

Importable on their own (no service code): settings come from `WEB_*` environment variables,
or from a `WebRuntime` installed with `tools.web.client.configure`.
"""

from __future__ import annotations

import sys


async def aclose() -> None:
    """Close the web tools' pooled HTTP client on the running loop, if they ever made one.

    The client module is looked up, not imported: importing it only to close nothing would
    put the HTTP stack back on the service's start-up path.
    """
    client = sys.modules.get("tools.web.client")
    if client is not None:
        await client.aclose()
