"""Tools cost their imports only when used: a graph loads the tools it names, and a web
tool loads its HTTP stack (httpx, charset detection, trafilatura) when it first runs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from agents.tool_context import ToolContext

from tests.web_fakes import FakeWeb, fake_web_settings, runtime_for, serve
from tools.web import client as web_client
from tools.web.fetch import fetch_url

ROOT = Path(__file__).resolve().parent.parent
WEB_STACK = ("tools.web.page", "tools.web.client", "httpx", "charset_normalizer", "trafilatura")
JOKER_ONLY = """version: 1
start: joker
agents:
  joker:
    name: Joker
    description: Tells jokes.
    instructions: Call how_many_jokes, then tell that many jokes.
    tools: [how_many_jokes]
"""


def loaded_after(code: str, *modules: str) -> dict[str, bool]:
    """Which of `modules` a fresh interpreter has imported after running `code`."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {modules!r}}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    answer: dict[str, bool] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def test_the_shipped_graph_offers_web_tools_without_loading_their_http_stack() -> None:
    loaded = loaded_after(
        "from agents_app.engine import load_graph\n"
        "from agents_app.settings import Settings\n"
        "graph = load_graph(Settings())\n"
        "assert {'web_search', 'fetch_url'} <= {t.name for a in graph.agents.values() "
        "for t in a.tools}",
        "tools.web.fetch",
        *WEB_STACK,
    )
    assert loaded == {"tools.web.fetch": True} | dict.fromkeys(WEB_STACK, False)


def test_a_graph_without_web_tools_never_imports_them(tmp_path: Path) -> None:
    config = tmp_path / "agents.yaml"
    config.write_text(JOKER_ONLY)
    loaded = loaded_after(
        "from agents_app.engine import load_graph\n"
        "from agents_app.settings import Settings\n"
        f"load_graph(Settings(AGENTS_CONFIG={str(config)!r}))",
        "tools.jokes",
        "tools.web.fetch",
        "tools.web.search",
    )
    assert loaded == {"tools.jokes": True, "tools.web.fetch": False, "tools.web.search": False}


@pytest.fixture
async def web() -> AsyncIterator[FakeWeb]:
    async with serve(FakeWeb()) as fake:
        runtime, _ = runtime_for(fake_web_settings(fake.port))
        previous = web_client.configure(runtime)
        try:
            yield fake
        finally:
            web_client.configure(previous)
            await runtime.aclose()


async def test_fetch_url_reads_a_page_through_its_lazy_imports(web: FakeWeb) -> None:
    url = f"http://127.0.0.1:{web.port}/en/wiki/Paris"
    context = ToolContext(
        context=None, tool_name=fetch_url.name, tool_call_id="call_1", tool_arguments="{}"
    )
    page = await fetch_url.on_invoke_tool(context, json.dumps({"url": url, "max_chars": 500}))
    assert isinstance(page, str)
    assert "Title: Paris – Wiki" in page and "Paris is the capital" in page
