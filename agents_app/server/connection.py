"""One WebSocket connection: frames in, commands dispatched, one run at a time."""

from __future__ import annotations

import asyncio
import contextlib
import difflib
from uuid import uuid4

import structlog
from starlette.websockets import WebSocket

from agents_app.access import TokenBucket
from agents_app.engine import Engine
from agents_app.graph import Graph
from agents_app.memory.conversation_turn import run_conversation_turn
from agents_app.memory.store import StoreUnavailable
from agents_app.protocol.commands import BadFrame, CancelRun, Ping, UserMessage, parse_frame
from agents_app.protocol.encoders import Encoder
from agents_app.protocol.events import Error, Pong
from agents_app.sinks.websocket import WebSocketSink
from agents_app.stream.forwarder import Forwarder
from agents_app.stream.turn import Turn

log = structlog.get_logger("agents_app.connection")


class Connection:
    def __init__(self, websocket: WebSocket, engine: Engine, encoder: Encoder) -> None:
        self.id = f"conn_{uuid4().hex[:16]}"
        self._ws = websocket
        self._engine = engine
        self._forwarder = Forwarder(
            WebSocketSink(websocket), encoder, on_sink_closed=self._on_sink_closed
        )
        settings = engine.settings
        self._rate = TokenBucket(settings.rate_limit_per_minute, settings.rate_limit_burst)
        # The conversation this connection last spoke in: where run.cancel goes when the
        # run is not ours (the same conversation, resumed from another connection).
        self._conversation = self.id
        # Conversations are stored: bound how many one connection may open (and so, with the
        # per-address connection cap, how many one client address may).
        self._conversations: set[str] = set()
        self._run: asyncio.Task[object] | None = None
        self._background: set[asyncio.Task[None]] = set()

    async def serve(self) -> None:
        with structlog.contextvars.bound_contextvars(connection_id=self.id):
            self._forwarder.start()
            log.info("connection.opened", client=_client(self._ws))
            self._forwarder.put(self._engine.session_ready(self.id))
            try:
                await self._receive_loop()
            finally:
                await self._cancel_run("client disconnected")
                for task in self._background:
                    task.cancel()
                await self._forwarder.aclose(drain=not self._forwarder.sink_closed)
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
        if not self._rate.take():
            self._forwarder.put(
                Error(code="rate_limited", message="Too many messages; slow down a little.")
            )
            return
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
                    task = asyncio.create_task(self._cancel_elsewhere())
                    self._background.add(task)
                    task.add_done_callback(self._background.discard)
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
        conversation = message.conversation_id or self.id
        if conversation not in self._conversations:
            if len(self._conversations) >= self._engine.settings.max_conversations_per_connection:
                self._forwarder.put(
                    Error(code="rate_limited", message="Too many conversations on one connection.")
                )
                return
            self._conversations.add(conversation)
        self._conversation = conversation
        turn = Turn(conversation_id=self._conversation, text=message.text, agent=message.agent)
        self._run = asyncio.create_task(self._converse(turn, graph), name=f"run:{turn.run_id}")
        self._run.add_done_callback(self._run_finished)

    async def _converse(self, turn: Turn, graph: Graph) -> None:
        # The terminal event comes out only once the run has released its conversation, so a
        # client answering it at once never finds this connection or conversation busy.
        engine = self._engine
        terminal = await run_conversation_turn(
            turn, engine=engine, store=engine.store, emit=self._forwarder.put, graph=graph
        )
        if terminal is None:
            self._forwarder.put(
                Error(code="busy", message="This conversation has a run in progress elsewhere.")
            )

    async def _cancel_elsewhere(self) -> None:
        try:
            flagged = await self._engine.store.request_cancel(self._conversation)
        except StoreUnavailable:
            flagged = False
        if not flagged:
            self._forwarder.put(Error(code="bad_request", message="No run to cancel."))

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
