"""Prompt-author commands: validate, graph, tools, eval-routing, schema config / routing-examples.

Merged into the main ``agents-app`` CLI. Imports are lazy, as in ``agents_app.cli``:
``import agents`` takes seconds and ``--help`` or ``validate`` should not pay for it.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agents_app.settings import MissingCredentials, Settings

if TYPE_CHECKING:
    from agents_app.config import AgentsConfig, ConfigIssue

authoring_app = typer.Typer()
schema_files_app = typer.Typer()

ConfigPath = Annotated[Path | None, typer.Argument(help="agents.yaml [AGENTS_CONFIG]")]


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    html = "html"


def _echo_issues(issues: tuple[ConfigIssue, ...] | list[ConfigIssue]) -> None:
    for issue in issues:
        typer.echo(str(issue), err=True)


def _load(path: Path | None) -> AgentsConfig:
    from agents_app.config import check_config
    from tools.registry import tool_names

    settings = Settings()
    report = check_config(
        path or settings.config_path, tool_names=tool_names(), model_api=settings.model_api
    )
    if report.config is None:
        _echo_issues(report.issues)
        raise typer.Exit(1)
    return report.config


@authoring_app.command()
def validate(
    path: ConfigPath = None,
    strict: Annotated[bool, typer.Option(help="Fail on warnings too (for CI)")] = False,
    examples: Annotated[
        Path | None,
        typer.Option(help="Routing examples to check too [routing-examples.yaml beside it]"),
    ] = None,
) -> None:
    """Check agents.yaml, its prompts and routing examples.

    Prints errors and warnings as file:line:column; exits 1 on any error (with --strict,
    on any warning too).
    """
    from agents_app.authoring.routing_examples import default_path, load_examples
    from agents_app.config import ConfigError, check_config
    from tools.registry import tool_names

    settings = Settings()
    target = path or settings.config_path
    report = check_config(target, tool_names=tool_names(), model_api=settings.model_api)
    issues = list(report.issues)
    examples_path = examples or default_path(target)
    checked_examples = 0
    if report.config is not None and (examples is not None or examples_path.exists()):
        try:
            checked_examples = len(load_examples(examples_path, agent_ids=report.config.agents))
        except ConfigError as err:
            issues.extend(err.issues)
    _echo_issues(issues)
    errors = sum(issue.severity == "error" for issue in issues)
    warnings = len(issues) - errors
    if errors:
        typer.echo(f"{target}: {errors} error(s), {warnings} warning(s)", err=True)
        raise typer.Exit(1)
    assert report.config is not None  # no errors means it loaded
    summary = f"{len(report.config.agents)} agents, start: {report.config.start}"
    asking = [
        f"{agent_id}.{tool}"
        for agent_id, spec in report.config.agents.items()
        for tool in spec.approvals
    ]
    if asking:
        summary += f"; needs approval: {', '.join(asking)}"
    if checked_examples:
        summary += f", {checked_examples} routing examples"
    if warnings:
        summary += f", {warnings} warning(s)"
    typer.echo(f"{target}: ok ({summary})")
    if warnings and strict:
        raise typer.Exit(1)


@authoring_app.command()
def graph(
    path: ConfigPath = None,
    fmt: Annotated[GraphFormat, typer.Option("--format", "-f")] = GraphFormat.mermaid,
) -> None:
    """Print the agent graph: a Mermaid flowchart (or a self-contained HTML page)."""
    from agents_app.authoring.graph_page import graph_page
    from agents_app.authoring.mermaid import GraphShape, to_mermaid

    config = _load(path)
    shape = GraphShape.of(config)
    mermaid = to_mermaid(shape, title=str(config.source))
    if fmt is GraphFormat.html:
        typer.echo(graph_page(shape, source=str(config.source), mermaid=mermaid))
    else:
        typer.echo(mermaid, nl=False)


@authoring_app.command("eval-routing")
def eval_routing(
    examples: Annotated[
        Path | None, typer.Argument(help="Examples file [routing-examples.yaml beside config]")
    ] = None,
    min_accuracy: Annotated[
        float, typer.Option(min=0, max=1, help="Fail if any agent or the total is below this")
    ] = 0.9,
    concurrency: Annotated[int, typer.Option(min=1, help="Examples run at once")] = 4,
    log_level: Annotated[str, typer.Option(help="Log level (logs go to stderr)")] = "WARNING",
) -> None:
    """Run routing examples against the configured model; print per-agent accuracy."""
    from agents_app.authoring.routing_eval import below, evaluate, report
    from agents_app.authoring.routing_examples import default_path, load_examples
    from agents_app.config import ConfigError
    from agents_app.engine import Engine
    from agents_app.logs import configure_logging

    # The offline model's typing pace is a display effect; here it would only add seconds.
    settings = Settings().model_copy(update={"log_level": log_level, "offline_pace_s": 0.0})
    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=settings.secrets())
    try:
        engine = Engine.from_settings(settings)
        cases = load_examples(
            examples or default_path(settings.config_path), agent_ids=engine.graph.agents
        )
    except ConfigError as err:
        _echo_issues(err.issues)
        raise typer.Exit(2) from None
    except MissingCredentials as err:
        typer.echo(f"configuration error: {err}", err=True)
        raise typer.Exit(2) from None

    async def main() -> list[str]:
        try:
            outcomes = await evaluate(engine, cases, concurrency=concurrency)
        finally:
            await engine.aclose()
        typer.echo(f"model: {engine.backend.kind} ({engine.model_info.name})")
        typer.echo(report(outcomes))
        return [f"{row.agent} {row.accuracy:.0%}" for row in below(outcomes, min_accuracy)]

    failing = asyncio.run(main())
    if failing:
        typer.echo(f"below --min-accuracy {min_accuracy:.0%}: {', '.join(failing)}", err=True)
        raise typer.Exit(1)


@authoring_app.command("tools")
def list_tools(
    path: ConfigPath = None,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds each MCP server gets to connect and answer")
    ] = 10.0,
) -> None:
    """List the tools agents can use: names for `tools:`, then each MCP server's tools.

    MCP servers are connected to (at most --timeout seconds each); exits 1 if one cannot
    be listed, saying why.
    """
    from agents_app.config import check_config
    from agents_app.logs import configure_logging
    from agents_app.mcp.listing import list_mcp_tools
    from tools.registry import all_tools, tool_names

    listed = all_tools()
    width = max(map(len, listed), default=0)
    for name, function_tool in listed.items():
        summary = (function_tool.description or "").strip().splitlines()
        typer.echo(f"{name:<{width}}  {summary[0] if summary else ''}")
    settings = Settings()
    target = path or settings.config_path
    report = check_config(target, tool_names=tool_names(), model_api=settings.model_api)
    if report.config is None:
        _echo_issues(report.errors)
        raise typer.Exit(1)
    if not report.config.mcp_servers:
        return
    # The reasons are printed below; the log would only repeat them.
    configure_logging(level="CRITICAL")
    listings = asyncio.run(list_mcp_tools(report.config, timeout_s=timeout))
    failed = False
    for server in listings:
        used = f"; used by {', '.join(server.used_by)}" if server.used_by else "; used by no agent"
        typer.echo(f"\nMCP server {server.name} ({server.transport}{used}):")
        if server.error is not None:
            failed = True
            typer.echo(f"  unavailable: {server.error}")
            continue
        tool_width = max((len(tool) for tool, _ in server.tools), default=0)
        for tool, about in server.tools:
            typer.echo(f"  {tool:<{tool_width}}  {about}")
        if not server.tools:
            typer.echo("  (no tools: check tools.allow / tools.deny)")
    if failed:
        raise typer.Exit(1)


def _print_schema(name: str) -> None:
    from agents_app.authoring.json_schemas import SCHEMAS, render

    generate, _file = SCHEMAS[name]
    typer.echo(render(generate()), nl=False)


@schema_files_app.command("config")
def schema_config() -> None:
    """JSON Schema of agents.yaml (commit as config/agents.schema.json)."""
    _print_schema("config")


@schema_files_app.command("routing-examples")
def schema_routing_examples() -> None:
    """JSON Schema of routing-examples.yaml (config/routing-examples.schema.json)."""
    _print_schema("routing-examples")
