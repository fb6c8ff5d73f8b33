"""What a function instance keeps between invocations: an event loop, the engine, one channel.

The platform calls `handler` synchronously, possibly from several threads at once (the
gateway emulator does; so can an instance with concurrency > 1). All async work runs on one
background loop, so the gRPC channel, HTTP pools and running runs outlive an invocation and
a DISCONNECT can cancel a run that another invocation started on this instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import OrderedDict
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from agents_app.event_loop import new_event_loop
from agents_app.settings import Settings

if TYPE_CHECKING:
    from yandex.cloud.serverless.apigateway.websocket.v1.connection_service_pb2_grpc import (
        ConnectionServiceStub,
    )

    from agents_app.cloud.credentials import TokenSource
    from agents_app.dispatch.client import Client
    from agents_app.engine import Engine
    from agents_app.runs.registry import Runs

T = TypeVar("T")
log = structlog.get_logger("agents_app.cloud")
MAX_REMEMBERED = 4096  # connections remembered per instance


class FunctionRuntime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Why no message can be served here (a partial credential set), or None.
        self.unavailable: str | None = settings.credentials_problem()
        # What this instance remembers of each connection between invocations: greeted,
        # rate bucket, conversations, the run it follows.
        self.clients: OrderedDict[str, Client] = OrderedDict()
        self._background: set[asyncio.Task[Any]] = set()
        self._engine: Engine | None = None
        self._runs: Runs | None = None
        self._stub: ConnectionServiceStub | None = None
        self._channel: Any = None
        self._tokens: TokenSource | None = None
        # The instance's one warm-up (agents_app.cloud.warmup), once started.
        self._warm_up: Future[None] | None = None
        self._warm_up_lock = threading.Lock()
        self._loop = new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="function-runtime", daemon=True
        )
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from agents_app.engine import Engine

            # stdio MCP servers are local-only: a function instance starts no programs.
            self._engine = Engine.from_settings(self.settings, allow_stdio=False)
            log.info("engine.ready", model=self._engine.backend.kind, api=self._engine.backend.api)
        return self._engine

    @property
    def runs(self) -> Runs:
        if self._runs is None:
            from agents_app.runs.registry import Runs

            self._runs = Runs(self.engine, start_queued=False)
        return self._runs

    @property
    def tokens(self) -> TokenSource:
        if self._tokens is None:
            from agents_app.cloud.credentials import TokenSource

            self._tokens = TokenSource()
        return self._tokens

    @property
    def stub(self) -> ConnectionServiceStub:
        """One channel for the instance's life: reused across deltas and invocations."""
        if self._stub is None:
            import grpc
            from yandex.cloud.serverless.apigateway.websocket.v1.connection_service_pb2_grpc import (  # noqa: E501
                ConnectionServiceStub,
            )

            target = self.settings.connections_endpoint
            if self.settings.connections_insecure:
                self._channel = grpc.aio.insecure_channel(target)
            else:
                self._channel = grpc.aio.secure_channel(target, grpc.ssl_channel_credentials())
            self._stub = ConnectionServiceStub(self._channel)
        return self._stub

    async def channel_ready(self) -> None:
        """Wait until the Connection Service channel is connected (made if need be)."""
        self.stub  # noqa: B018 (makes the channel)
        await self._channel.channel_ready()

    def warm_up(self, *, rehearse: bool) -> None:
        """Make the instance ready for its first message; at most once per instance.

        Whoever calls while the warm-up runs waits for it to end; later calls return at
        once. Never raises (see agents_app.cloud.warmup). `rehearse`: also run the model
        path once (only the caller that starts the warm-up decides).
        """
        with self._warm_up_lock:
            if self._warm_up is None:
                from agents_app.cloud.warmup import warm

                self._warm_up = self.submit(warm(self, rehearse=rehearse))
            started = self._warm_up
        with contextlib.suppress(Exception):  # cancelled: the runtime was closed meanwhile
            started.result()

    def client(self, connection_id: str) -> Client:
        client = self.clients.get(connection_id)
        if client is None:
            from agents_app.dispatch.client import Client

            client = self.clients[connection_id] = Client.new(connection_id, self.settings)
            _trim(self.clients)
        self.clients.move_to_end(connection_id)
        return client

    def forget(self, connection_id: str) -> Client | None:
        return self.clients.pop(connection_id, None)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run `work` on the loop without waiting for it (held so it is not collected)."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def close(self) -> None:
        async def shutdown() -> None:
            if self._runs is not None:
                await self._runs.aclose()
            if self._channel is not None:
                await self._channel.close()
            if self._engine is not None:
                await self._engine.aclose()

        with contextlib.suppress(Exception):
            self.submit(shutdown()).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def _trim(remembered: OrderedDict[str, Any]) -> None:
    while len(remembered) > MAX_REMEMBERED:
        remembered.popitem(last=False)


_runtime: FunctionRuntime | None = None
_runtime_lock = threading.Lock()


def get_runtime() -> FunctionRuntime:
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            from agents_app.logs import configure_logging

            settings = Settings()
            if "data_dir" not in settings.model_fields_set:
                # The function's code folder is read-only; /tmp is the writable place.
                settings = settings.model_copy(update={"data_dir": Path("/tmp/agents-app")})
            configure_logging(
                level=settings.log_level, fmt=settings.log_format, secrets=settings.secrets()
            )
            _runtime = FunctionRuntime(settings)
            if _runtime.unavailable is not None:
                # Once per instance (at cold start), not once per message.
                log.error("config.invalid", problem=_runtime.unavailable)
        return _runtime


def instance_settings() -> Settings:
    """The instance's settings without making its runtime: a CONNECT reads the token and the
    warm-up mode, and an `off` instance's CONNECT must build nothing. Building `Settings`
    reads and validates the whole environment (~1 ms), so once the runtime exists its copy
    serves every later handshake."""
    runtime = _runtime
    return runtime.settings if runtime is not None else Settings()


def reset_runtime() -> None:
    """Drop the instance state (tests, and the emulator when settings change)."""
    global _runtime
    with _runtime_lock:
        runtime, _runtime = _runtime, None
    if runtime is not None:
        runtime.close()
