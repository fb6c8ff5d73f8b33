"""structlog set-up: one JSON line per event, context ids bound, secrets scrubbed."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from agents_app.secrets import REDACTED, SECRETS, Secrets

__all__ = ["REDACTED", "SecretScrubber", "configure_logging"]


class SecretScrubber:
    """Replaces known secret values wherever they appear in a log event (agents_app.secrets).

    Consulted per event, not copied once: secrets learnt later (IAM tokens) count too.
    Runs after `format_exc_info`, so tracebacks are scrubbed as well.
    """

    def __init__(self, secrets: Secrets = SECRETS) -> None:
        self._secrets = secrets

    def __call__(self, _: WrappedLogger, __: str, event: EventDict) -> EventDict:
        if not self._secrets:
            return event
        for key, value in event.items():
            event[key] = self._scrub(value)
        return event

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._secrets.scrub(value)
        if isinstance(value, MutableMapping):
            return {k: self._scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrub(v) for v in value]
        return value


def _stderr_logger(*_: Any) -> structlog.WriteLogger:
    # Looked up per logger, not captured once: tests and tools swap sys.stderr.
    return structlog.WriteLogger(sys.stderr)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stdlib handler that always writes to the current sys.stderr."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def configure_logging(
    *, level: str = "INFO", fmt: str = "json", secrets: Iterable[str] = ()
) -> None:
    SECRETS.add(secrets)
    level_no = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    renderer: Processor = (
        structlog.dev.ConsoleRenderer() if fmt == "console" else structlog.processors.JSONRenderer()
    )
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        SecretScrubber(),
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level_no),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    # Libraries log through stdlib; route them through the same pipeline and level.
    stdlib_handler = _StderrHandler()
    stdlib_handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *processors,
            ],
            foreign_pre_chain=[structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [stdlib_handler]
    root.setLevel(max(level_no, logging.WARNING))
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
