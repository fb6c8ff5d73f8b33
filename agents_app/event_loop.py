"""The event loop the service runs on: uvloop (libuv) where it is installed, asyncio elsewhere.

The local server and the function's runtime loop both use it. On a joke run here it took
~15 % off the CPU a run costs, the SDK's share and ours alike: thread hops to SQLite,
socket writes and timers are cheaper in libuv (bench/README.md, overhead). uvloop has no
Windows build; there the server runs on asyncio's own loop.
"""

from __future__ import annotations

import asyncio


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # Windows
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """`uvloop` or `asyncio`: which loop serves, for the start-up log line."""
    return type(loop).__module__.split(".", 1)[0]
