"""The embedded default: one SQLite file holds history (SDK SQLiteSession), run state and
the run log.

SQLite's own locking makes the run lock hold across processes on one machine; a reader in
another process sees new log rows by polling (a local run's followers never need to).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from agents import Session

from agents_app.memory.sqlite_calls import SQLiteCalls
from agents_app.memory.sqlite_schema import prepare, purge_expired
from agents_app.memory.sqlite_sessions import SessionPool, StoreSession
from agents_app.memory.store import (
    CANCELLED,
    Lease,
    LoggedEvent,
    RunRecord,
    SeqTaken,
    flagged_reason,
)

POLL_S = 0.05  # how often a reader waiting for new log rows looks again
PURGE_EVERY_S = 60.0
# The SDK session's table of history items (its default name, said here: `claim` counts them).
HISTORY_TABLE = "agent_messages"


class SQLiteStore:
    def __init__(
        self,
        path: Path,
        *,
        lock_ttl_s: float,
        log_ttl_s: float = 600.0,
        queue_ttl_s: float = 3600.0,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock_ttl_s = lock_ttl_s
        self._log_ttl_s = log_ttl_s
        self._queue_ttl_s = queue_ttl_s
        self._purged_at = 0.0
        self._calls = SQLiteCalls(path, timeout_s=5)
        prepare(self._calls.waiting)
        self._sessions = SessionPool(path, HISTORY_TABLE)

    def session(self, conversation_id: str) -> Session:
        return self._sessions.lend(conversation_id)

    async def release_session(self, session: Session) -> None:
        if isinstance(session, StoreSession):
            self._sessions.give_back(session)

    async def claim(self, conversation_id: str, run_id: str) -> Lease | None:
        def work(db: sqlite3.Connection) -> Lease | None:
            now = time.time()
            with db:  # the queue's head and the lock change together, or not at all
                db.execute("BEGIN IMMEDIATE")
                head = _head(db, conversation_id, now)
                if head is not None and head != run_id:
                    return None
                row = db.execute(
                    "INSERT INTO conversation_state (conversation_id, run_id, lock_expires)"
                    " VALUES (?, ?, ?) ON CONFLICT(conversation_id) DO UPDATE SET"
                    " run_id = excluded.run_id, lock_expires = excluded.lock_expires,"
                    " cancel_run_id = NULL WHERE lock_expires < ? RETURNING last_agent",
                    (conversation_id, run_id, now + self._lock_ttl_s, now),
                ).fetchone()
                if row is None:
                    return None
                if head is not None:
                    db.execute("DELETE FROM run_queue WHERE run_id = ?", (run_id,))
                # Inside the transaction: `work` is retried whole if it fails, and a retry
                # after the lock was taken would find the conversation busy.
                return Lease(last_agent=row[0], history_items=_history_items(db, conversation_id))

        return await self._calls.run(work)

    async def refresh(self, conversation_id: str, run_id: str) -> None:
        await self._calls.run(
            lambda db: db.execute(
                "UPDATE conversation_state SET lock_expires = ?"
                " WHERE conversation_id = ? AND run_id = ?",
                (time.time() + self._lock_ttl_s, conversation_id, run_id),
            )
        )

    async def release(
        self, conversation_id: str, run_id: str, *, last_agent: str | None = None
    ) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            db.execute(
                "UPDATE conversation_state SET lock_expires = 0, cancel_run_id = NULL,"
                " last_agent = coalesce(?, last_agent) WHERE conversation_id = ? AND run_id = ?",
                (last_agent, conversation_id, run_id),
            )
            return _head(db, conversation_id, time.time()) is not None

        return await self._calls.run(work)

    async def request_cancel(self, conversation_id: str, reason: str = CANCELLED) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            # cancel_run_id holds "<run id>\n<reason>": the column kept its name and type.
            cursor = db.execute(
                "UPDATE conversation_state SET cancel_run_id = run_id || char(10) || ?"
                " WHERE conversation_id = ? AND lock_expires >= ?",
                (reason, conversation_id, time.time()),
            )
            return cursor.rowcount == 1

        return await self._calls.run(work)

    async def cancel_requested(self, conversation_id: str, run_id: str) -> str | None:
        row = await self._calls.run(
            lambda db: db.execute(
                "SELECT cancel_run_id FROM conversation_state WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
        )
        return None if row is None else flagged_reason(row[0], run_id)

    async def append_events(
        self, run_id: str, conversation_id: str, events: list[LoggedEvent]
    ) -> None:
        expires = time.time() + self._log_ttl_s
        purge = expires - self._purged_at > PURGE_EVERY_S

        def work(db: sqlite3.Connection) -> None:
            try:
                with db:  # one transaction: a batch is logged whole or not at all
                    db.execute("BEGIN")
                    db.executemany(
                        "INSERT INTO run_log (run_id, seq, event) VALUES (?, ?, ?)",
                        [(run_id, seq, event) for seq, event in events],
                    )
                    # The whole log lives on for the TTL after its newest event.
                    db.execute(
                        "INSERT INTO logged_runs (run_id, conversation_id, expires)"
                        " VALUES (?, ?, ?) ON CONFLICT(run_id) DO UPDATE SET"
                        " expires = excluded.expires",
                        (run_id, conversation_id, expires),
                    )
            except sqlite3.IntegrityError as exc:
                if "UNIQUE" not in str(exc):
                    raise  # any other constraint is a broken store, not a duplicate seq
                raise SeqTaken(run_id) from exc
            if purge:
                self._purged_at = expires
                purge_expired(db, time.time())

        await self._calls.run(work, at_once=not purge)  # a purge may take long: not on the loop

    async def read_events(
        self, run_id: str, after_seq: int, *, wait_s: float = 0.0
    ) -> list[LoggedEvent]:
        deadline = time.monotonic() + wait_s
        while True:
            rows = await self._calls.run(
                lambda db: db.execute(
                    "SELECT seq, event FROM run_log WHERE run_id = ? AND seq > ?"
                    " AND EXISTS (SELECT 1 FROM logged_runs WHERE run_id = ? AND expires >= ?)"
                    " ORDER BY seq",
                    (run_id, after_seq, run_id, time.time()),
                ).fetchall()
            )
            if rows or time.monotonic() >= deadline:
                return [(int(seq), str(event)) for seq, event in rows]
            await asyncio.sleep(POLL_S)

    async def find_run(
        self, *, run_id: str | None = None, conversation_id: str | None = None
    ) -> RunRecord | None:
        def work(db: sqlite3.Connection) -> RunRecord | None:
            now = time.time()
            if run_id is not None:
                row = db.execute(
                    "SELECT conversation_id FROM logged_runs WHERE run_id = ? AND expires >= ?",
                    (run_id, now),
                ).fetchone()
                if row is None:
                    return None
                return RunRecord(run_id, row[0], _holds(db, row[0], run_id, now))
            running = db.execute(
                "SELECT run_id FROM conversation_state"
                " WHERE conversation_id = ? AND lock_expires >= ?",
                (conversation_id, now),
            ).fetchone()
            if running is not None and running[0]:
                return RunRecord(running[0], str(conversation_id), True)
            last = db.execute(
                "SELECT run_id FROM logged_runs WHERE conversation_id = ? AND expires >= ?"
                " ORDER BY expires DESC LIMIT 1",
                (conversation_id, now),
            ).fetchone()
            return None if last is None else RunRecord(last[0], str(conversation_id), False)

        return await self._calls.run(work)

    async def enqueue(
        self, conversation_id: str, run_id: str, record: str, *, cap: int | None, front: bool
    ) -> int | None:
        def work(db: sqlite3.Connection) -> int | None:
            now = time.time()
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.execute("DELETE FROM run_queue WHERE expires < ?", (now,))
                low, high, count = db.execute(
                    "SELECT min(pos), max(pos), count(*) FROM run_queue WHERE conversation_id = ?",
                    (conversation_id,),
                ).fetchone()
                if cap is not None and count >= cap:
                    return None
                pos = (low or 0) - 1 if front else (high or 0) + 1
                db.execute(
                    "INSERT INTO run_queue (run_id, conversation_id, pos, record, expires)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (run_id, conversation_id, pos, record, now + self._queue_ttl_s),
                )
                return 1 if front else int(count) + 1

        return await self._calls.run(work)

    async def queue(self, conversation_id: str) -> list[tuple[str, str]]:
        rows = await self._calls.run(
            lambda db: db.execute(
                "SELECT run_id, record FROM run_queue WHERE conversation_id = ? AND expires >= ?"
                " ORDER BY pos",
                (conversation_id, time.time()),
            ).fetchall()
        )
        return [(str(run_id), str(record)) for run_id, record in rows]

    async def queued_in(self, run_id: str) -> str | None:
        row = await self._calls.run(
            lambda db: db.execute(
                "SELECT conversation_id FROM run_queue WHERE run_id = ? AND expires >= ?",
                (run_id, time.time()),
            ).fetchone()
        )
        return None if row is None else str(row[0])

    async def dequeue(self, conversation_id: str, run_id: str) -> bool:
        cursor = await self._calls.run(
            lambda db: db.execute(
                "DELETE FROM run_queue WHERE conversation_id = ? AND run_id = ?",
                (conversation_id, run_id),
            )
        )
        return cursor.rowcount == 1

    async def save_approval(
        self, run_id: str, conversation_id: str, record: str, ttl_s: float
    ) -> None:
        await self._calls.run(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO approvals (run_id, conversation_id, record, expires)"
                " VALUES (?, ?, ?, ?)",
                (run_id, conversation_id, record, time.time() + ttl_s),
            )
        )

    async def approval(self, run_id: str) -> tuple[str, str] | None:
        row = await self._calls.run(
            lambda db: db.execute(
                "SELECT conversation_id, record FROM approvals WHERE run_id = ? AND expires >= ?",
                (run_id, time.time()),
            ).fetchone()
        )
        return None if row is None else (str(row[0]), str(row[1]))

    async def take_approval(self, run_id: str) -> bool:
        cursor = await self._calls.run(
            lambda db: db.execute(
                "DELETE FROM approvals WHERE run_id = ? AND expires >= ?", (run_id, time.time())
            )
        )
        return cursor.rowcount == 1

    async def pending_approval(self, conversation_id: str) -> str | None:
        row = await self._calls.run(
            lambda db: db.execute(
                "SELECT run_id FROM approvals WHERE conversation_id = ? AND expires >= ?"
                " ORDER BY expires DESC LIMIT 1",
                (conversation_id, time.time()),
            ).fetchone()
        )
        return None if row is None else str(row[0])

    async def save_connection(self, connection_id: str, record: str, ttl_s: float) -> None:
        await self._calls.run(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO connections (connection_id, record, expires)"
                " VALUES (?, ?, ?)",
                (connection_id, record, time.time() + ttl_s),
            )
        )

    async def connection(self, connection_id: str) -> str | None:
        row = await self._calls.run(
            lambda db: db.execute(
                "SELECT record FROM connections WHERE connection_id = ? AND expires >= ?",
                (connection_id, time.time()),
            ).fetchone()
        )
        return None if row is None else str(row[0])

    async def aclose(self) -> None:
        self._sessions.close()
        await self._calls.aclose()


def _history_items(db: sqlite3.Connection, conversation_id: str) -> int:
    """Items the SDK's session would read for this conversation (it skips rows that are not
    JSON), counted without reading them."""
    try:
        row = db.execute(
            f"SELECT count(*) FROM {HISTORY_TABLE}"
            " WHERE session_id = ? AND json_valid(message_data)",
            (conversation_id,),
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return 0  # no session has written here yet
        raise
    return int(row[0])


def _head(db: sqlite3.Connection, conversation_id: str, now: float) -> str | None:
    row = db.execute(
        "SELECT run_id FROM run_queue WHERE conversation_id = ? AND expires >= ?"
        " ORDER BY pos LIMIT 1",
        (conversation_id, now),
    ).fetchone()
    return None if row is None else str(row[0])


def _holds(db: sqlite3.Connection, conversation_id: str, run_id: str, now: float) -> bool:
    row = db.execute(
        "SELECT 1 FROM conversation_state"
        " WHERE conversation_id = ? AND run_id = ? AND lock_expires >= ?",
        (conversation_id, run_id, now),
    ).fetchone()
    return row is not None
