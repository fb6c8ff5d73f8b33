"""Run an ASGI app under uvicorn as a task of the current event loop.

For the gateway emulator, tests and benchmarks: they need the bound port (port 0 picks a
free one) and a clean stop, on the loop they already run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn


@dataclass(frozen=True)
class Served:
    host: str
    port: int
    task: asyncio.Task[None]  # ends when uvicorn stops (also on Ctrl-C)

    def url(self, scheme: str = "ws") -> str:
        return f"{scheme}://{self.host}:{self.port}/"


@asynccontextmanager
async def serving(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    force_exit: bool = False,
    **options: Any,
) -> AsyncIterator[Served]:
    """`options` go to `uvicorn.Config`; `force_exit` drops connections still streaming."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, **options))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # startup failed: raise its error here
            await asyncio.sleep(0.01)
        bound_host, bound_port = server.servers[0].sockets[0].getsockname()[:2]
        yield Served(bound_host, bound_port, task)
    finally:
        server.should_exit = True
        server.force_exit = force_exit
        await asyncio.wait_for(task, 10)
