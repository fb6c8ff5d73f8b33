"""The SDK's SQLite sessions for the store, kept for the next conversation instead of closed.

A `SQLiteSession` costs ~0.7 ms on the event loop to make (it opens the file and checks the
schema there), and a connection in every worker thread it is called from. Made and closed
around every run, that was ~3 ms of CPU and ~3.5 ms of a run's wall time here, most of it
before the model is even asked. A session is a `session_id` over one file, read on every
call: a free one is pointed at the conversation that needs it next. One conversation runs
one turn at a time (its lock), and a session is lent to one turn at a time.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from agents import SQLiteSession

# Free sessions kept: each may hold a connection per worker thread (≤ 6 on 2 cores).
KEEP = 8


class StoreSession(SQLiteSession):
    """The SDK's session, its connections synced as the store's own are.

    In WAL mode `synchronous=NORMAL` syncs at checkpoints, not at every commit. With the
    SDK's default (FULL) each `add_items` waited for an fsync: 0.42 ms against 0.19 ms here,
    three or four times a turn, one of them before the model is even asked. A power cut may
    lose the last moments of history, as it may the run log's; an application crash loses
    nothing.

    The SDK has no public hook for its connections' pragmas: this overrides the static method
    every connection it opens goes through. `tests/test_sqlite_sessions.py` checks the pragma
    on a session's connections, so an SDK upgrade that renames the hook is noticed.
    """

    @staticmethod
    def _configure_connection(conn: sqlite3.Connection) -> None:
        SQLiteSession._configure_connection(conn)
        conn.execute("PRAGMA synchronous=NORMAL")


class SessionPool:
    def __init__(self, path: Path, messages_table: str, *, keep: int = KEEP) -> None:
        self._path = path
        self._messages_table = messages_table
        self._keep = keep
        self._free: list[StoreSession] = []
        self._closed = False

    def lend(self, conversation_id: str) -> StoreSession:
        if self._free:
            session = self._free.pop()
            session.session_id = conversation_id
            return session
        return StoreSession(
            conversation_id, db_path=self._path, messages_table=self._messages_table
        )

    def give_back(self, session: StoreSession) -> None:
        if session in self._free:
            return  # given back twice: it is kept already
        if self._closed or len(self._free) >= self._keep:
            session.close()  # a run that ended after the store closed, or one too many
        else:
            self._free.append(session)

    def close(self) -> None:
        self._closed = True
        free, self._free = self._free, []
        for session in free:
            session.close()
