"""A scripted OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks.

openai >= 3 talks through httpx2, which respx cannot intercept, so the real client has to
read a real socket. Each request to `/v1/responses` or `/v1/chat/completions` consumes the
next scripted step; an exhausted script answers 500 so the test fails loudly.

    with ScriptedOpenAIServer([Reply([ToolCall("my_tool")]), Text("done")]) as srv:
        client = AsyncOpenAI(base_url=srv.base_url, api_key="test", max_retries=0)
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Self

import uvicorn

from agents_app.testing.scripted_app import RecordedRequest, ScriptedApp
from agents_app.testing.scripted_steps import Step


class ScriptedOpenAIServer:
    """uvicorn in a background thread with its own event loop, serving scripted steps in order."""

    def __init__(self, steps: Iterable[Step] = ()) -> None:
        self._app = ScriptedApp(steps)
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._crash: BaseException | None = None

    # -- script ---------------------------------------------------------------------------

    def enqueue(self, *steps: Step) -> None:
        self._app.enqueue(*steps)

    def reset(self) -> None:
        """Forget steps, recorded requests and id counters, so one server can serve many tests.

        Errors the server hit are not forgotten: `check()` or `stop()` still raises them.
        """
        self._app.reset()

    def check(self) -> None:
        """Raise the first error the server hit since the last check (e.g. a drifted reply).

        The client only ever sees a 500 for it, which a test of failure handling would accept;
        call this after each test (the `srv` fixture does) so the drift fails that test.
        """
        errors = self._app.take_errors()
        if errors:
            first = errors[0]
            if len(errors) > 1:
                first.add_note(f"ScriptedOpenAIServer: {len(errors) - 1} more error(s) after this")
            raise first

    @property
    def remaining(self) -> int:
        """Steps not consumed yet; `assert srv.remaining == 0` checks the script was used up."""
        return self._app.remaining

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._app.requests

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("ScriptedOpenAIServer is not started")
        return f"http://127.0.0.1:{self._port}/v1"

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("ScriptedOpenAIServer is already started")
        # Binding here (port 0) means the port is known before uvicorn runs, and clients that
        # connect early just wait in the listen backlog.
        sock = socket.create_server(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            http="h11",
            ws="none",
            lifespan="off",
            interface="asgi3",  # uvicorn's auto-detection misreads a callable instance
            proxy_headers=False,
            log_config=None,  # never reconfigure the host process's logging
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        self._server, self._crash = server, None
        self._thread = threading.Thread(
            target=self._run, args=(server, sock), name=f"scripted-openai:{self._port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("ScriptedOpenAIServer failed to start") from self._crash
            time.sleep(0.001)
        return self

    def stop(self) -> None:
        """Shut down and join the thread; re-raise the first error the server hit (e.g. drift)."""
        thread, server = self._thread, self._server
        if thread is None or server is None:
            return
        self._app.close()
        server.should_exit = True
        thread.join(timeout=5)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        if thread.is_alive():
            raise RuntimeError("ScriptedOpenAIServer thread did not stop")
        self._thread = self._server = None
        self._port = None
        self.check()

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        async def main() -> None:
            self._app.attach()
            await server.serve(sockets=[sock])

        try:
            asyncio.run(main())
        except BaseException as exc:  # uvicorn may sys.exit(); keep it for start() to report
            self._crash = exc
        finally:
            sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        # start()/stop() block briefly (thread start, join); keep them off the caller's loop.
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)
