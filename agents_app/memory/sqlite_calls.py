"""Running the store's SQL: on the event loop when SQLite can answer at once, else in a thread.

A statement of the store takes tens of microseconds; a hop to a worker thread and back
costs ~100 µs of CPU (futex wake-ups and GIL hand-offs in both threads), a few times every
run. So a call first runs right here, on a connection that never waits for SQLite's lock
(busy timeout 0). When that cannot work — another connection holds the write lock (the SDK's
session, another process), or the loop's connection is in use by another thread's loop —
the call goes to a worker thread, whose connection waits for the lock without stalling the
loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from agents_app.memory.store import StoreUnavailable

T = TypeVar("T")
_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


class SQLiteCalls:
    def __init__(self, path: Path, *, timeout_s: float) -> None:
        # Each connection is used by one thread at a time (its lock), from any thread.
        self.waiting = _connect(path, timeout_s)
        self._at_once = _connect(path, 0)
        self._waiting_lock = threading.Lock()
        self._at_once_lock = threading.Lock()

    async def run(self, work: Callable[[sqlite3.Connection], T], *, at_once: bool = True) -> T:
        """`work(connection)`; `at_once=False` for work that may take long (a purge): it
        always goes to the thread. `work` may be run twice, so it must change nothing when
        it fails: a single statement, or one transaction."""
        if at_once and self._at_once_lock.acquire(blocking=False):
            try:
                return work(self._at_once)
            except sqlite3.Error as exc:
                if not _busy(exc):
                    raise StoreUnavailable(f"sqlite: {exc}") from exc
            finally:
                self._at_once_lock.release()

        def call() -> T:
            with self._waiting_lock:
                return work(self.waiting)

        try:
            return await asyncio.to_thread(call)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc

    async def aclose(self) -> None:
        # Under the locks: closing while a worker thread runs a statement crashes the process.
        def close() -> None:
            with self._waiting_lock, self._at_once_lock:
                self.waiting.close()
                self._at_once.close()

        await asyncio.to_thread(close)


def _connect(path: Path, timeout_s: float) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=timeout_s, isolation_level=None, check_same_thread=False)
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: a run appends to its
    # log several times a second, and a power cut may lose the last moments of it (an
    # application crash loses nothing).
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def _busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.OperationalError) and code is not None and code & 0xFF in _BUSY
