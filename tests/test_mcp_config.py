"""`mcp_servers:` in agents.yaml: what loads, and every mistake at its file:line:column."""

from __future__ import annotations

from pathlib import Path

from agents_app.config import check_config, load_config
from tests.config_helpers import TOOLS, issues_of, write

HEAD = """
version: 1
start: helper
"""


def _config(tmp_path: Path, servers: str, agent_mcp: str = "[notes]") -> Path:
    return write(
        tmp_path,
        HEAD
        + servers
        + f"""
agents:
  helper:
    name: Helper
    instructions: Help.
    mcp: {agent_mcp}
""",
    )


def test_a_full_server_entry_loads(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        """
mcp_servers:
  notes:
    transport: streamable_http
    url: http://127.0.0.1:8765/mcp
    headers: {Authorization: "Bearer ${NOTES_TOKEN}"}
    timeout: 5
    tools: {allow: [add_note, list_notes], deny: [delete_note]}
    cache_tools_list: true
    approvals: {add_note: always}
  local:
    transport: stdio
    command: python
    args: [-m, agents_app.mcp.demo_notes]
    env: {NOTES_DIR: "${HOME}"}
""",
        "[notes, local]",
    )
    config = load_config(path, tool_names=TOOLS, environ={"NOTES_TOKEN": "t" * 10, "HOME": "/"})
    notes = config.mcp_servers["notes"]
    assert notes.url == "http://127.0.0.1:8765/mcp"
    assert notes.headers == {"Authorization": "Bearer ${NOTES_TOKEN}"}  # expanded at connect
    assert notes.tools.allow == ("add_note", "list_notes")
    assert notes.tools.deny == ("delete_note",)
    assert notes.approvals == {"add_note": "always"}
    assert config.mcp_servers["local"].args == ("-m", "agents_app.mcp.demo_notes")
    assert config.agents["helper"].mcp == ("notes", "local")


def test_an_unknown_server_on_an_agent_names_the_spot_with_a_suggestion(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        """
mcp_servers:
  notes: {transport: streamable_http, url: "http://127.0.0.1:1/mcp"}
""",
        "[nots]",
    )
    assert issues_of(path) == [
        f"{path}:11:11: agents.helper.mcp[0]: unknown MCP server 'nots' (did you mean 'notes'?)"
    ]


def test_transport_keys_are_checked_where_they_are_written(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        """
mcp_servers:
  notes:
    transport: stdio
    url: http://127.0.0.1:1/mcp
    tool: {allow: [x]}
""",
    )
    issues = issues_of(path)
    assert f"{path}:5:3: mcp_servers.notes: a stdio server needs 'command'" in issues
    assert (
        f"{path}:7:5: mcp_servers.notes.url: 'url' is for streamable_http servers; "
        "this one is stdio" in issues
    )
    assert (
        f"{path}:8:5: mcp_servers.notes.tool: unknown key 'tool' (did you mean 'tools'?)" in issues
    )


def test_bad_env_references_and_non_http_urls_are_errors(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        """
mcp_servers:
  notes:
    transport: streamable_http
    url: ftp://example.com/mcp
    headers: {Authorization: "Bearer ${NOTES-TOKEN}"}
""",
    )
    issues = issues_of(path)
    assert f"{path}:7:10: mcp_servers.notes.url: expected an http:// or https:// URL" in issues
    assert any(
        i.startswith(f"{path}:8:30: mcp_servers.notes.headers.Authorization: '${{NOTES-TOKEN}}'")
        for i in issues
    ), issues


def test_allow_deny_and_approvals_must_agree(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        """
mcp_servers:
  notes:
    transport: streamable_http
    url: http://127.0.0.1:1/mcp
    tools: {allow: [add_note, list_notes], deny: [list_notes]}
    approvals: {add_nte: always}
""",
    )
    issues = issues_of(path)
    assert (
        f"{path}:8:51: mcp_servers.notes.tools.deny[0]: "
        "tool 'list_notes' is both allowed and denied" in issues
    )
    assert (
        f"{path}:9:17: mcp_servers.notes.approvals.add_nte: approval for 'add_nte', which is "
        "not in tools.allow (did you mean 'add_note'?)" in issues
    )


def test_server_names_must_be_snake_case(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        """
mcp_servers:
  Notes-Server: {transport: streamable_http, url: "http://127.0.0.1:1/mcp"}
""",
        "[Notes-Server]",
    )
    assert any("mcp_servers.Notes-Server: MCP server name" in i for i in issues_of(path))


def test_warnings_for_unset_variables_literal_secrets_and_unused_servers(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        """
mcp_servers:
  notes:
    transport: streamable_http
    url: http://127.0.0.1:1/mcp
    headers: {Authorization: "Bearer ${NOTES_TOKEN}"}
  other:
    transport: streamable_http
    url: http://127.0.0.1:2/mcp
    headers: {X-Api-Key: literal-key-123}
""",
    )
    report = check_config(path, tool_names=TOOLS, environ={})
    assert report.config is not None  # warnings only
    warnings = [str(w) for w in report.warnings]
    assert (
        f"{path}:8:30: warning: mcp_servers.notes.headers.Authorization: environment variable "
        "NOTES_TOKEN is not set here; the server will be unavailable until it is" in warnings
    )
    assert any("headers.X-Api-Key: header 'X-Api-Key' has a literal value" in w for w in warnings)
    assert any(
        "mcp_servers.other: MCP server 'other' is not used by any agent" in w for w in warnings
    )
