"""One WebSocket connection: frames in, commands dispatched, one run at a time."""

from __future__ import annotations

import asyncio
import contextlib
import difflib
from uuid import uuid4

import structlog
from agents import SQLiteSession
from starlette.websockets import WebSocket

from agents_app.engine import Engine
from agents_app.protocol.commands import BadFrame, CancelRun, Ping, UserMessage, parse_frame
from agents_app.protocol.encoders import Encoder
from agents_app.protocol.events import Error, Pong
from agents_app.sinks.websocket import WebSocketSink
from agents_app.stream.forwarder import Forwarder
from agents_app.stream.turn import Turn, run_turn

log = structlog.get_logger("agents_app.connection")


class Connection:
    def __init__(self, websocket: WebSocket, engine: Engine, encoder: Encoder) -> None:
        self.id = f"conn_{uuid4().hex[:16]}"
        self._ws = websocket
        self._engine = engine
        self._forwarder = Forwarder(
            WebSocketSink(websocket), encoder, on_sink_closed=self._on_sink_closed
        )
        # History lives as long as the connection (persistent stores come with sessions).
        self._sessions: dict[str, SQLiteSession] = {}
        self._run: asyncio.Task[object] | None = None

    async def serve(self) -> None:
        with structlog.contextvars.bound_contextvars(connection_id=self.id):
            self._forwarder.start()
            log.info("connection.opened", client=_client(self._ws))
            self._forwarder.put(self._engine.session_ready(self.id))
            try:
                await self._receive_loop()
            finally:
                await self._cancel_run("client disconnected")
                await self._forwarder.aclose(drain=not self._forwarder.sink_closed)
                for session in self._sessions.values():
                    session.close()
                log.info("connection.closed")

    async def _receive_loop(self) -> None:
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            frame = message.get("text")
            if frame is None:
                frame = message.get("bytes") or b""
            self._handle(frame)

    def _handle(self, frame: str | bytes) -> None:
        try:
            command = parse_frame(frame, max_bytes=self._engine.settings.max_frame_bytes)
        except BadFrame as bad:
            self._forwarder.put(Error(code=bad.code, message=bad.message))
            return
        match command:
            case Ping():
                self._forwarder.put(Pong())
            case CancelRun():
                if self._run is None:
                    self._forwarder.put(Error(code="bad_request", message="No run to cancel."))
                else:
                    self._run.cancel("cancelled by client")
            case UserMessage():
                self._start_run(command)

    def _start_run(self, message: UserMessage) -> None:
        if self._run is not None:
            self._forwarder.put(
                Error(code="busy", message="A run is in progress; wait for it or cancel it.")
            )
            return
        graph = self._engine.graph
        if message.agent is not None and message.agent not in graph.agents:
            hint = difflib.get_close_matches(message.agent, list(graph.agents), n=1)
            suffix = f" (did you mean {hint[0]!r}?)" if hint else ""
            self._forwarder.put(
                Error(code="bad_request", message=f"Unknown agent {message.agent!r}{suffix}.")
            )
            return
        conversation_id = message.conversation_id or self.id
        session = self._sessions.get(conversation_id)
        if session is None:
            session = self._sessions[conversation_id] = SQLiteSession(conversation_id)
        turn = Turn(conversation_id=conversation_id, text=message.text, agent=message.agent)
        self._run = asyncio.create_task(
            run_turn(turn, engine=self._engine, emit=self._forwarder.put, session=session),
            name=f"run:{turn.run_id}",
        )
        self._run.add_done_callback(self._run_finished)

    def _run_finished(self, task: asyncio.Task[object]) -> None:
        if self._run is task:
            self._run = None
        if not task.cancelled() and task.exception() is not None:
            # run_turn turns every failure into run.failed; reaching here is a bug of ours.
            log.error("run.crashed", exc_info=task.exception())

    def _on_sink_closed(self) -> None:
        if self._run is not None:
            self._run.cancel("connection lost")

    async def _cancel_run(self, reason: str) -> None:
        task = self._run
        if task is None:
            return
        task.cancel(reason)
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _client(websocket: WebSocket) -> str | None:
    return f"{websocket.client.host}:{websocket.client.port}" if websocket.client else None
