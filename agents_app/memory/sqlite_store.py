"""The embedded default: one SQLite file holds history (SDK SQLiteSession) and run state.

SQLite's own locking makes the run lock hold across processes on one machine.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from agents import Session, SQLiteSession

from agents_app.memory.store import StoreUnavailable

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversation_state (
    conversation_id TEXT PRIMARY KEY,
    run_id TEXT,
    lock_expires REAL NOT NULL DEFAULT 0,
    cancel_run_id TEXT,
    last_agent TEXT
)
"""


class SQLiteStore:
    def __init__(self, path: Path, *, lock_ttl_s: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock_ttl_s = lock_ttl_s
        # One connection, used from worker threads one at a time: opening a connection per
        # statement cost more than the statements (several run per turn).
        self._db = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._db_lock = threading.Lock()

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            with self._db_lock:
                return work(self._db)

        try:
            return await asyncio.to_thread(call)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc

    def session(self, conversation_id: str) -> Session:
        return SQLiteSession(conversation_id, db_path=self.path)

    async def release_session(self, session: Session) -> None:
        if isinstance(session, SQLiteSession):
            session.close()

    async def claim(self, conversation_id: str, run_id: str) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            now = time.time()
            cursor = db.execute(
                "INSERT INTO conversation_state (conversation_id, run_id, lock_expires)"
                " VALUES (?, ?, ?) ON CONFLICT(conversation_id) DO UPDATE SET"
                " run_id = excluded.run_id, lock_expires = excluded.lock_expires,"
                " cancel_run_id = NULL WHERE lock_expires < ?",
                (conversation_id, run_id, now + self._lock_ttl_s, now),
            )
            return cursor.rowcount == 1

        return await self._run(work)

    async def refresh(self, conversation_id: str, run_id: str) -> None:
        await self._run(
            lambda db: db.execute(
                "UPDATE conversation_state SET lock_expires = ?"
                " WHERE conversation_id = ? AND run_id = ?",
                (time.time() + self._lock_ttl_s, conversation_id, run_id),
            )
        )

    async def release(self, conversation_id: str, run_id: str) -> None:
        await self._run(
            lambda db: db.execute(
                "UPDATE conversation_state SET lock_expires = 0, cancel_run_id = NULL"
                " WHERE conversation_id = ? AND run_id = ?",
                (conversation_id, run_id),
            )
        )

    async def request_cancel(self, conversation_id: str) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "UPDATE conversation_state SET cancel_run_id = run_id"
                " WHERE conversation_id = ? AND lock_expires >= ?",
                (conversation_id, time.time()),
            )
            return cursor.rowcount == 1

        return await self._run(work)

    async def cancel_requested(self, conversation_id: str, run_id: str) -> bool:
        row = await self._run(
            lambda db: db.execute(
                "SELECT cancel_run_id FROM conversation_state WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
        )
        return row is not None and row[0] == run_id

    async def last_agent(self, conversation_id: str) -> str | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT last_agent FROM conversation_state WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
        )
        return None if row is None else row[0]

    async def set_last_agent(self, conversation_id: str, agent_id: str) -> None:
        await self._run(
            lambda db: db.execute(
                "INSERT INTO conversation_state (conversation_id, last_agent) VALUES (?, ?)"
                " ON CONFLICT(conversation_id) DO UPDATE SET last_agent = excluded.last_agent",
                (conversation_id, agent_id),
            )
        )

    async def aclose(self) -> None:
        self._db.close()
