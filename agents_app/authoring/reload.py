"""Config hot reload: watch the config folder, swap the engine's graph for new runs.

A broken edit is logged with every ``file:line:column`` problem and the last good graph
keeps serving; runs already going keep the graph they started with (``run_turn`` reads
``engine.graph`` once). Only the graph is reloaded: model and server settings come from
the environment and need a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import structlog
from watchfiles import awatch

from agents_app.config import ConfigError, check_config
from agents_app.engine import Engine, graph_for
from tools.registry import tool_names

log = structlog.get_logger("agents_app.reload")


class ConfigReloader:
    def __init__(self, engine: Engine, *, debounce_ms: int = 300) -> None:
        self.engine = engine
        self.config_path = engine.settings.config_path
        # The whole folder: prompts/ and anything instructions_file points at usually live there.
        self.folder = self.config_path.resolve().parent
        self.debounce_ms = debounce_ms
        self.attempts = 0  # reload attempts so far, whatever their outcome
        self.last_error: ConfigError | None = None
        self._attempted = asyncio.Condition()

    def reload(self) -> bool:
        """Load the config again; swap it in if it is valid and changed. True if swapped."""
        self.attempts += 1
        report = check_config(
            self.config_path, tool_names=tool_names(), model_api=self.engine.settings.model_api
        )
        if report.warnings:
            log.warning("config.reload_warnings", warnings=[str(w) for w in report.warnings])
        if report.config is None:
            self.last_error = ConfigError(report.errors)
            log.error(
                "config.reload_failed",
                path=str(self.config_path),
                errors=[str(issue) for issue in report.errors],
                keeping="the last good graph",
            )
            return False
        self.last_error = None
        if report.config == self.engine.graph.config:
            log.debug("config.unchanged", path=str(self.config_path))
            return False
        graph = graph_for(report.config, self.engine.settings, self.engine.mcp)
        self.engine.swap_graph(graph)
        log.info(
            "config.reloaded",
            path=str(self.config_path),
            agents=list(graph.agents),
            start=graph.start,
        )
        return True

    async def run(self) -> None:
        """Reload after every burst of changes in the folder, until cancelled."""
        log.info("config.watching", folder=str(self.folder))
        async for changes in awatch(self.folder, debounce=self.debounce_ms, recursive=True):
            log.debug("config.changed", files=sorted({Path(p).name for _, p in changes}))
            try:
                self.reload()
            except Exception:
                # A reload bug must not end the watcher, or later good edits would be ignored.
                log.exception("config.reload_crashed")
            async with self._attempted:
                self._attempted.notify_all()

    async def wait_for_attempts(self, count: int) -> None:
        """Until ``count`` reloads were attempted (for tests and tools driving edits)."""
        async with self._attempted:
            await self._attempted.wait_for(lambda: self.attempts >= count)


@contextlib.asynccontextmanager
async def watching(engine: Engine, *, debounce_ms: int = 300) -> AsyncIterator[ConfigReloader]:
    """Run a ``ConfigReloader`` for ``engine`` while the block runs."""
    reloader = ConfigReloader(engine, debounce_ms=debounce_ms)
    task = asyncio.create_task(reloader.run(), name="config-reload")
    # One loop step lets the task reach its first real wait; awatch has set up the OS watch
    # synchronously by then, so every change made inside the block is seen.
    await asyncio.sleep(0)
    try:
        yield reloader
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def watching_if(engine: Engine, enabled: bool) -> AsyncIterator[ConfigReloader | None]:
    """``watching(engine)`` when ``enabled`` (``serve --reload``), else nothing."""
    if not enabled:
        yield None
        return
    async with watching(engine) as reloader:
        yield reloader
