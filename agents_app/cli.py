"""`agents-app`: serve, chat, validate, graph, eval-routing, schema."""

from __future__ import annotations

import asyncio
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agents_app.authoring.cli import authoring_app, schema_files_app
from agents_app.settings import MissingCredentials, Settings

if TYPE_CHECKING:
    from agents_app.engine import Engine

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
schema_app = typer.Typer(no_args_is_help=True, help="Print JSON Schemas of the contracts.")
app.add_typer(schema_app, name="schema")
# validate, graph, eval-routing; schema config / routing-examples
app.add_typer(authoring_app)
schema_app.add_typer(schema_files_app)


class ChatFormat(StrEnum):
    json = "json"
    text = "text"
    pretty = "pretty"
    ag_ui = "ag-ui"  # AG-UI protocol events, one JSON object a line


def _settings(**overrides: object) -> Settings:
    settings = Settings()
    return settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})


def _engine(settings: Settings) -> Engine:
    # Imports are lazy: `import agents` alone takes seconds, and --help should not.
    from agents_app.config import ConfigError
    from agents_app.engine import Engine
    from agents_app.logs import configure_logging

    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=settings.secrets())
    try:
        return Engine.from_settings(settings)
    except ConfigError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None
    except MissingCredentials as err:
        # One line a person can act on; it names settings, never their values.
        typer.echo(f"configuration error: {err}", err=True)
        raise typer.Exit(2) from None


OFFLINE_BANNER = """\
+----------------------------------------------------------------------+
|  OFFLINE DEMO MODEL: no LLM answers here, only canned demo replies.  |
|  {reason:<66}  |
|  For a real model set API_KEY and FOLDER_ID (Yandex AI Studio), or   |
|  API_KEY and BASE_URL (any OpenAI-compatible server).                |
+----------------------------------------------------------------------+"""


def offline_banner(settings: Settings) -> str:
    reason = (
        "AGENTS_PROVIDER=offline asks for it."
        if settings.provider == "offline"
        else "No model credentials are set."
    )
    return OFFLINE_BANNER.format(reason=reason)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address [AGENTS_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [AGENTS_PORT]")] = None,
    reload: Annotated[
        bool, typer.Option(help="Watch config/ and swap in each valid edit for new runs")
    ] = False,
) -> None:
    """Serve the event protocol over WebSocket (ws://HOST:PORT/)."""
    import structlog
    import uvicorn

    from agents_app.server.app import create_app

    settings = _settings(host=host, port=port)
    engine = _engine(settings)
    offline = engine.backend.kind == "offline"
    if offline:
        # A log line is easy to miss; whoever starts the server must see it is not an LLM.
        typer.echo(offline_banner(settings), err=True)
    structlog.get_logger("agents_app").info(
        "serve.starting",
        url=f"ws://{settings.host}:{settings.port}/",
        model=engine.backend.kind,
        api=engine.backend.api,
        offline=offline,
        note="offline demo model: deterministic, no LLM"
        if engine.backend.kind == "offline"
        else None,
    )
    uvicorn.run(
        create_app(engine, reload_config=reload),
        host=settings.host,
        port=settings.port,
        log_config=None,
        # Above our own frame limit, so oversized frames get a typed error, not a closed socket.
        ws_max_size=max(4 * settings.max_frame_bytes, 1 << 20),
        # permessage-deflate keeps ~46 KiB of zlib state per connection and deflates every
        # small delta frame (bench/README.md: load, overhead); our frames gain little from it.
        ws_per_message_deflate=False,
        loop="agents_app.event_loop:new_event_loop",
    )


@app.command()
def chat(
    text: Annotated[str | None, typer.Argument(help="The message to send")] = None,
    fmt: Annotated[ChatFormat, typer.Option("--format", "-f")] = ChatFormat.pretty,
    agent: Annotated[str | None, typer.Option(help="Start at this agent id")] = None,
    join: Annotated[
        str | None,
        typer.Option(
            "--join",
            metavar="RUN_ID",
            help="Instead of sending a message, replay and follow this run (from SESSION_STORE)",
        ),
    ] = None,
    after_seq: Annotated[int, typer.Option(help="With --join: start after this seq")] = 0,
    conversation: Annotated[
        str | None, typer.Option(help="Continue this conversation (default: a new one)")
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(metavar="RUN_ID", help="Decide the calls a paused run waits on, and go on"),
    ] = None,
    approve: Annotated[
        list[str] | None, typer.Option(metavar="CALL_ID", help="With --resume: allow this call")
    ] = None,
    reject: Annotated[
        list[str] | None, typer.Option(metavar="CALL_ID", help="With --resume: refuse this call")
    ] = None,
    message: Annotated[
        str | None, typer.Option(help="With --reject: what the agent is told")
    ] = None,
    ask: Annotated[
        bool | None,
        typer.Option(
            help="Ask on the terminal when a call needs approval [default: pretty output on a "
            "terminal]; otherwise a paused run is printed and the command exits with 3"
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level (logs go to stderr)")] = "WARNING",
) -> None:
    """Run one message (or follow a run, or decide a paused one) and print its events."""
    from agents_app.runs.approval import Verdict
    from agents_app.terminal import EXIT_OK, ChatRequest, chat_session

    if sum(x is not None for x in (text, join, resume)) != 1:
        typer.echo("give a message to send, or --join RUN_ID, or --resume RUN_ID", err=True)
        raise typer.Exit(2)
    verdicts = {call: Verdict(approve=True) for call in approve or ()}
    verdicts |= {call: Verdict(approve=False, message=message) for call in reject or ()}
    if resume is not None and not verdicts:
        typer.echo("--resume needs --approve CALL_ID or --reject CALL_ID for each call", err=True)
        raise typer.Exit(2)
    request = ChatRequest(
        fmt=fmt.value,
        text=text,
        agent=agent,
        conversation=conversation,
        join=join,
        after_seq=after_seq,
        resume=resume,
        verdicts=verdicts,
        ask=ask if ask is not None else fmt is ChatFormat.pretty and sys.stdin.isatty(),
    )
    engine = _engine(_settings(log_level=log_level))
    code = asyncio.run(chat_session(engine, request))
    if code != EXIT_OK:
        raise typer.Exit(code)


@schema_app.command("events")
def schema_events() -> None:
    """JSON Schema of every server→client event (protocol v1)."""
    from agents_app.protocol.events import events_json_schema

    typer.echo(json.dumps(events_json_schema(), indent=2, ensure_ascii=False))


@app.command()
def gateway(
    host: Annotated[str, typer.Option(help="Bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8081,
    function: Annotated[Path | None, typer.Option(help="function.py to drive")] = None,
    function_timeout: Annotated[float, typer.Option(help="Seconds per invocation")] = 60.0,
) -> None:
    """Emulate API Gateway WebSocket locally: every frame becomes a function.handler call."""
    from agents_app.gateway.emulator import GatewayOptions
    from agents_app.gateway.serve import DEFAULT_FUNCTION, load_handler, serve_gateway
    from agents_app.logs import configure_logging

    settings = _settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=settings.secrets())
    handler = load_handler(function or DEFAULT_FUNCTION)
    options = GatewayOptions(function_timeout_s=function_timeout)
    asyncio.run(serve_gateway(handler, host=host, port=port, options=options))


@app.command()
def package(
    output: Annotated[Path, typer.Option(help="Where to write the zip")] = Path("function.zip"),
) -> None:
    """Build a deterministic function.zip for `yc serverless function version create`."""
    from agents_app.function_zip import build_function_zip

    report = build_function_zip(output)
    typer.echo(
        f"{report.path}: {report.size / 1024:.1f} KiB, {report.files} files, "
        f"{len(report.requirements)} pinned requirements"
    )
