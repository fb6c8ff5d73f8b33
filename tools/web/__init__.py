"""The researcher's web tools: `web_search` and `fetch_url`, behind an SSRF guard.

Importable on their own (no service code): settings come from `WEB_*` environment variables,
or from a `WebRuntime` installed with `tools.web.client.configure`.
"""
