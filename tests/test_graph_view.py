"""The graph view: Mermaid text, the CLI, and GET /graph on the live server."""

from __future__ import annotations

import textwrap
from pathlib import Path
from xml.etree import ElementTree

import httpx

from agents_app.authoring.graph_page import graph_svg
from agents_app.authoring.mermaid import GraphShape, to_mermaid
from agents_app.config import load_config
from tests.conftest import LiveServer
from tests.test_cli import agents_app
from tools.registry import tool_names

SHIPPED = Path(__file__).resolve().parents[1] / "config" / "agents.yaml"
TOOLS = frozenset({"how_many_jokes"})


def shape_of(tmp_path: Path, yaml: str) -> GraphShape:
    path = tmp_path / "agents.yaml"
    path.write_text(textwrap.dedent(yaml).lstrip("\n"), encoding="utf-8")
    return GraphShape.of(load_config(path, tool_names=TOOLS))


def test_shipped_graph_as_mermaid() -> None:
    text = to_mermaid(GraphShape.of(load_config(SHIPPED, tool_names=tool_names())))
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert "  start --> agent_triage" in lines
    assert "  agent_triage -->|handoff| agent_joker" in lines
    assert "  agent_triage -->|handoff| agent_researcher" in lines
    assert "  agent_joker -->|handoff| agent_triage" in lines
    assert "  agent_joker -.->|tool| tool_how_many_jokes" in lines
    assert '  tool_how_many_jokes{{"how_many_jokes"}}' in lines
    assert "  class agent_triage start" in lines
    assert not any(line.startswith("  class ") and "unreachable" in line for line in lines)


def test_labels_are_escaped_and_unreachable_agents_marked(tmp_path: Path) -> None:
    shape = shape_of(
        tmp_path,
        """
        version: 1
        start: end
        agents:
          end: {name: 'Say "hi" <b>', description: d, instructions: x}
          poet: {name: Поэт, description: poems, instructions: x, handoffs: [end]}
        """,
    )
    text = to_mermaid(shape)
    # "end" is a Mermaid keyword: node ids are prefixed.
    assert '  agent_end["Say #quot;hi#quot; #lt;b><br/>(end)"]' in text
    assert '  agent_poet["Поэт<br/>(poet)"]' in text
    assert "  class agent_poet unreachable" in text
    assert "  agent_poet -->|handoff| agent_end" in text


def test_svg_draws_every_agent_and_handoff(tmp_path: Path) -> None:
    shape = shape_of(
        tmp_path,
        """
        version: 1
        start: a
        agents:
          a: {name: A & Co, instructions: x, handoffs: [b, c]}
          b: {name: B, description: b, instructions: x, handoffs: [a], tools: [how_many_jokes]}
          c: {name: C, description: c, instructions: x, handoffs: [b]}
          d: {name: D, description: d, instructions: x}
        """,
    )
    svg = ElementTree.fromstring(graph_svg(shape))  # well-formed XML, names escaped
    ns = "{http://www.w3.org/2000/svg}"
    names = [t.text for t in svg.iter(f"{ns}text") if t.get("class") == "name"]
    assert names == ["A & Co", "B", "C", "D"]
    paths = [p.get("class") for p in svg.iter(f"{ns}path") if p.get("class")]
    # a⇄b is one two-headed line; a→c forward; c→b sideways (same column)
    assert sorted(paths) == ["back", "fwd", "fwd both"]
    groups = {g.find(f"{ns}text[@class='id']").text: g.get("class") for g in svg.iter(f"{ns}g")}  # type: ignore[union-attr]
    assert groups == {"a": "node start", "b": "node", "c": "node", "d": "node lost"}


def test_graph_cli_prints_mermaid_and_html() -> None:
    result = agents_app("graph")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("flowchart LR\n")
    assert "agent_triage -->|handoff| agent_joker" in result.stdout
    page = agents_app("graph", "--format", "html")
    assert page.returncode == 0 and "<svg" in page.stdout


def test_graph_cli_reports_a_broken_config(tmp_path: Path) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text("version: 1\nstart: nobody\nagents:\n  a: {name: A, instructions: x}\n")
    result = agents_app("graph", str(path))
    assert result.returncode == 1
    assert f"{path}:2:8: start: no agent 'nobody'" in result.stderr


async def test_server_shows_the_graph(server: LiveServer) -> None:
    base = server.url.replace("ws://", "http://")
    async with httpx.AsyncClient(base_url=base) as client:
        page = await client.get("/graph")
        text = await client.get("/graph", params={"format": "mermaid"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<svg" in page.text and "Researcher" in page.text
    assert "agent_triage -.-&gt;" not in page.text  # triage has no tools
    assert "agent_joker -.-&gt;|tool| tool_how_many_jokes" in page.text  # escaped source
    assert text.status_code == 200 and text.text.startswith("flowchart LR\n")


async def test_graph_shows_the_config_path_relative_to_the_project(server: LiveServer) -> None:
    base = server.url.replace("ws://", "http://")
    async with httpx.AsyncClient(base_url=base) as client:
        page = await client.get("/graph")
        text = await client.get("/graph", params={"format": "mermaid"})
    project = str(SHIPPED.parents[1])
    for answer in (page, text):
        assert project not in answer.text  # where the server lives is nobody's business
    assert "<code>config/agents.yaml</code>" in page.text
    assert "config/agents.yaml" in text.text


def test_a_config_outside_the_project_shows_its_file_name_only(tmp_path: Path) -> None:
    from agents_app.server.graph_view import shown_path

    assert shown_path(SHIPPED) == "config/agents.yaml"
    assert shown_path(tmp_path / "deploy" / "agents.yaml") == "agents.yaml"


async def test_graph_needs_the_token_when_one_is_set_and_healthz_does_not() -> None:
    from agents_app.engine import Engine
    from tests.conftest import live_server, offline_settings

    token = "graph-viewer-token-123"
    engine = Engine.from_settings(offline_settings(auth_token=token))
    async with live_server(engine) as live:
        base = live.url.replace("ws://", "http://")
        async with httpx.AsyncClient(base_url=base) as client:
            for params in ({}, {"token": "wrong"}, {"format": "mermaid"}):
                refused = await client.get("/graph", params=params)
                assert refused.status_code == 401 and "Researcher" not in refused.text
            by_query = await client.get("/graph", params={"token": token})
            by_header = await client.get(
                "/graph", params={"format": "mermaid"}, headers={"Authorization": f"Bearer {token}"}
            )
            health = await client.get("/healthz")
    assert by_query.status_code == 200 and "Researcher" in by_query.text
    # The page's own link to the Mermaid text keeps working for whoever opened it.
    assert f'href="?format=mermaid&amp;token={token}"' in by_query.text
    assert by_header.status_code == 200 and by_header.text.startswith("flowchart LR\n")
    assert health.status_code == 200


def test_the_graph_page_lists_guardrails_with_where_they_apply(tmp_path: Path) -> None:
    from agents_app.authoring.graph_page import graph_page

    shape = shape_of(
        tmp_path,
        """
        version: 1
        start: a
        guardrails:
          long: {kind: max_length, max_chars: 9, blocking: true, description: Too <long>}
          judge: {kind: agent, instructions: x, model: small, mode: stream}
          spare: {kind: regex, pattern: 'a+b'}
          rej: {kind: keywords, words: [x, y], on_trip: reject}
        run_guardrails: {input: [long]}
        agents:
          a:
            name: A
            instructions: x
            tools: [how_many_jokes]
            guardrails: {output: [judge]}
            tool_guardrails: {how_many_jokes: {input: [rej]}}
        """,
    )
    page = graph_page(shape, source="agents.yaml", mermaid="")
    section = page[page.index("<h2>Guardrails</h2>") :]
    assert (
        "<tr><td><code>long</code></td><td>max_length</td><td>longer than 9 characters</td>"
        "<td>run input</td><td>blocking, buffer, stops the run</td><td>Too &lt;long&gt;</td></tr>"
    ) in section
    assert "<td>a judge (small) says no</td><td>agent a output</td>" in section
    assert "<td>parallel, stream, stops the run</td>" in section
    assert "<td>matches a+b</td><td><strong>unused</strong></td>" in section
    assert "<td>contains one of x, y</td><td>tool how_many_jokes of a input</td>" in section
    assert "rejects the call" in section
