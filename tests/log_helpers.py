"""Capturing structlog lines in tests, whatever an earlier test configured."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, MutableMapping
from typing import Any

import structlog
from structlog.testing import capture_logs


@contextlib.contextmanager
def all_logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """capture_logs at every level: an earlier test may have configured WARNING, whose
    filtering wrapper drops info lines before capture_logs' processor sees them."""
    saved = structlog.get_config()
    try:
        with capture_logs() as logs:
            structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
            yield logs
    finally:
        structlog.configure(**saved)
