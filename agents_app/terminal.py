"""`agents-app chat`: one conversation turn on a terminal, through the same dispatcher as
every other client — send a message, join a run, or decide a paused run's calls.

A run that stops for approval is asked about on a terminal (`--ask`, the default when the
output is `pretty` and stdin is a terminal); otherwise it is printed and the command exits
with `EXIT_PAUSED`, to be continued with `--resume RUN_ID --approve/--reject CALL_ID`.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from uuid import uuid4

import typer

from agents_app.dispatch.client import Client
from agents_app.dispatch.dispatcher import Dispatcher
from agents_app.dispatch.outbox import Outbox
from agents_app.dispatch.replies import Reply
from agents_app.engine import Engine
from agents_app.protocol.encoders import new_encoder
from agents_app.runs.approval import Paused, Verdict
from agents_app.runs.registry import Runs
from agents_app.runs.turn import Turn
from agents_app.sinks.stdout import StreamSink

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PAUSED = 0, 1, 2, 3


@dataclass
class ChatRequest:
    fmt: str
    text: str | None = None
    agent: str | None = None
    conversation: str | None = None
    join: str | None = None
    after_seq: int = 0
    resume: str | None = None
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    ask: bool = False


async def chat_session(engine: Engine, request: ChatRequest) -> int:
    """Run the request to its end; the process exit code."""
    line_per_frame = request.fmt in ("json", "ag-ui")
    sink = StreamSink(sys.stdout, line_per_frame=line_per_frame)
    outbox = Outbox(sink, new_encoder(request.fmt, model=engine.model_info)).start()
    # A one-shot process: it must not start another client's waiting message it cannot see
    # through (the server running the conversation does that).
    runs = Runs(engine, start_queued=False)
    dispatcher = Dispatcher(Client.new("cli", engine.settings), outbox, runs)
    try:
        reply = await _first(dispatcher, request)
        while True:
            if reply.error is not None:
                typer.echo(f"{reply.error.code}: {reply.error.message}", err=True)
                usage = reply.error.code in ("bad_request", "not_found")
                return EXIT_USAGE if usage else EXIT_FAILED
            run_id, ended = await _see_through(reply, outbox)
            if ended == "run.completed":
                return EXIT_OK
            if ended != "run.interrupted" or run_id is None:
                return EXIT_FAILED
            paused = await _paused(engine, run_id)
            if paused is None or not request.ask:
                return EXIT_PAUSED
            verdicts = await asyncio.to_thread(_ask, paused)
            reply = await dispatcher.resume(run_id, verdicts)
    finally:
        await outbox.aclose()
        await runs.aclose()
        await engine.aclose()


async def _first(dispatcher: Dispatcher, request: ChatRequest) -> Reply:
    if request.resume is not None:
        return await dispatcher.resume(request.resume, request.verdicts)
    if request.join is not None:
        return await dispatcher.join(
            run_id=request.join, conversation_id=None, after_seq=request.after_seq
        )
    assert request.text is not None
    conversation = request.conversation or f"cli_{uuid4().hex[:12]}"
    turn = Turn(conversation_id=conversation, text=request.text, agent=request.agent)
    return await dispatcher.start(turn)


async def _see_through(reply: Reply, outbox: Outbox) -> tuple[str | None, str | None]:
    """(run id, type of its terminal event) once it is printed and its log is whole."""
    assert reply.follow is not None
    await reply.follow
    if reply.run is not None:
        await asyncio.wait([reply.run.task])  # its log is whole in the store on exit
    run_id = reply.run.run_id if reply.run is not None else next(reversed(outbox.ended), None)
    return run_id, outbox.ended.get(run_id) if run_id else None


async def _paused(engine: Engine, run_id: str) -> Paused | None:
    found = await engine.store.approval(run_id)
    return None if found is None else Paused.from_record(found[1])


def _ask(paused: Paused) -> dict[str, Verdict]:
    verdicts = {}
    for call in paused.pending:
        shown = ", ".join(f"{k}={v!r}" for k, v in call.arguments.items())
        yes = typer.confirm(f"{call.agent} wants to run {call.tool}({shown}). Allow?", err=True)
        note = "" if yes else typer.prompt("Why not (told to the agent)", default="", err=True)
        verdicts[call.call_id] = Verdict(approve=yes, message=note or None)
    return verdicts
