"""Warming a function instance before its first message (`AGENTS_WARM_UP`).

A fresh instance's first message would pay for the heavy imports (openai-agents, gRPC), the
engine (config, graph, model client), the conversation store, the Connection Service channel
and the model client's lazily built models (`agents_app.models.rehearsal`). A warm-up pays
them earlier, once per instance: every caller that needs the instance warm waits for the one
warm-up in progress rather than starting another.

When it starts is the deployment's choice, because a serverless instance may get no CPU
between invocations (work left running after an invocation returns may not progress):

- `connect` (default): a CONNECT invocation warms the instance and returns when it is warm —
  the handshake waits, so the work is done while the platform is sure to run it;
- `load`: importing `function` starts it in the background — provisioned instances import the
  code before any request; CONNECT does not wait;
- `both`: starts at load, and a CONNECT waits for it to end;
- `off`: nothing early; the first message builds what it needs.

Whatever the mode, a message first waits for a warm-up in progress, or warms the instance
itself without the rehearsal (its own run builds those models at once; a rehearsal would only
add its own run to the wait). A warm-up never raises: a broken agents.yaml makes the instance
unavailable (logged once, messages answered `error{code:"unavailable"}`); any other failure is
logged and left for the message path to meet and report the way it always has.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from agents_app.cloud.runtime import FunctionRuntime

log = structlog.get_logger("agents_app.cloud")
_frozen = False  # whether a warm-up has frozen the start-up objects (gc.freeze) yet
CHANNEL_READY_S = 2.0  # connecting to the Connection Service is a nicety, not worth a longer wait


def mode_at_load() -> str:
    """`AGENTS_WARM_UP` read straight from the environment.

    At import pydantic-settings is not loaded yet and a bad value must not fail the import;
    `Settings` validates the same variable when the runtime is made.
    """
    return os.environ.get("AGENTS_WARM_UP", "connect")


def on_load() -> None:
    """Called by function.py at import: in `load`/`both` mode, start warming in the background."""
    if mode_at_load() not in ("load", "both"):
        return
    threading.Thread(target=_warm_in_background, name="function-warm-up", daemon=True).start()


def _warm_in_background() -> None:
    try:
        from agents_app.cloud.runtime import get_runtime

        get_runtime().warm_up(rehearse=True)
    except Exception:  # e.g. invalid settings: the first message meets and reports them
        log.exception("warm_up.failed")


def on_connect() -> None:
    """An accepted CONNECT: in `connect`/`both` mode, return only once the instance is warm."""
    try:
        from agents_app.cloud.runtime import get_runtime, instance_settings

        if instance_settings().warm_up in ("connect", "both"):
            get_runtime().warm_up(rehearse=True)
    except Exception:  # the handshake is accepted all the same; a message reports the problem
        log.exception("warm_up.failed")


async def warm(runtime: FunctionRuntime, *, rehearse: bool) -> None:
    """Everything a first message would build, on the runtime's loop; never raises."""
    with _start_up_objects():
        await _warm(runtime, rehearse=rehearse)


@contextlib.contextmanager
def _start_up_objects() -> Iterator[None]:
    """No garbage collection while the warm-up makes objects that live as long as the
    instance (modules, classes, pydantic schemas): collecting among them is wasted work
    (≈ 10 % of the imports here). The first warm-up of the process then freezes them, so
    later collections (during runs) never walk them again."""
    global _frozen
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            if not _frozen:
                # Once: a process that makes several runtimes (tests) must not freeze the
                # garbage of the ones before.
                gc.freeze()
                _frozen = True
            gc.enable()


async def _warm(runtime: FunctionRuntime, *, rehearse: bool) -> None:
    steps = _Steps()
    try:
        # The message path's modules: most of a cold start (openai-agents alone ≈ 1.2–2 s).
        import agents_app.cloud.invocation  # noqa: F401

        steps.done("imports")
        if runtime.unavailable is not None:
            return
        from agents_app.config import ConfigError

        try:
            engine = runtime.engine
        except ConfigError as error:
            # The config ships with the code: no later message can do better than this one.
            runtime.unavailable = f"agents config: {error}"
            log.error("config.invalid", problem=runtime.unavailable)
            return
        steps.done("engine")
        engine.store  # noqa: B018 (opened on first use)
        runtime.runs  # noqa: B018
        steps.done("store")
        await _connect(runtime)
        steps.done("channel")
        # The offline model is in-process: none of openai's models to build for it.
        if rehearse and engine.backend.api in ("responses", "chat_completions"):
            from agents_app.models.rehearsal import rehearse as rehearse_model

            await rehearse_model(use_responses=engine.backend.api == "responses")
            steps.done("rehearsal")
        log.info("warm_up.done", **steps.seconds)
    except Exception:
        log.exception("warm_up.failed", **steps.seconds)


class _Steps:
    """Seconds per warm-up step, for the log (where a slow cold start went)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._began = self._last = time.monotonic()

    def done(self, step: str) -> None:
        now = time.monotonic()
        self.seconds[f"{step}_s"] = round(now - self._last, 3)
        self.seconds["total_s"] = round(now - self._began, 3)
        self._last = now


async def _connect(runtime: FunctionRuntime) -> None:
    """Open the Connection Service channel (DNS, TCP, TLS) before the first `Send` needs it."""
    try:
        await asyncio.wait_for(runtime.channel_ready(), CHANNEL_READY_S)
    except TimeoutError:
        log.info("warm_up.channel_not_ready", endpoint=runtime.settings.connections_endpoint)
