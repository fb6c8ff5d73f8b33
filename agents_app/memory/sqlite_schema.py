"""The tables the SQLite store keeps beside the SDK session's history, and their upkeep."""

from __future__ import annotations

import sqlite3

_LOG_SHAPE = 1  # PRAGMA user_version: the shape of run_log / logged_runs this code writes

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversation_state (
    conversation_id TEXT PRIMARY KEY,
    run_id TEXT,
    lock_expires REAL NOT NULL DEFAULT 0,
    cancel_run_id TEXT,
    last_agent TEXT
);
CREATE TABLE IF NOT EXISTS run_log (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS logged_runs (
    run_id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS logged_runs_by_conversation ON logged_runs (conversation_id, expires);
CREATE TABLE IF NOT EXISTS approvals (
    run_id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    record TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS approvals_by_conversation ON approvals (conversation_id, expires);
CREATE TABLE IF NOT EXISTS run_queue (
    run_id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    pos INTEGER NOT NULL,
    record TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS run_queue_by_conversation ON run_queue (conversation_id, pos);
CREATE TABLE IF NOT EXISTS connections (
    connection_id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    expires REAL NOT NULL
);
"""


def prepare(db: sqlite3.Connection) -> None:
    """Make the store's tables in the file `db` opened (WAL: readers never wait for writers)."""
    db.execute("PRAGMA journal_mode=WAL")
    # Run logs live minutes: a file from before their current shape drops them rather
    # than migrating (history and conversation state are untouched).
    if db.execute("PRAGMA user_version").fetchone()[0] < _LOG_SHAPE:
        db.executescript(
            f"DROP TABLE IF EXISTS run_log; DROP TABLE IF EXISTS logged_runs;"
            f" PRAGMA user_version = {_LOG_SHAPE};"
        )
    db.executescript(_SCHEMA)


def purge_expired(db: sqlite3.Connection, now: float) -> None:
    """Drop expired run logs and connection records. Queue entries and approvals are not
    purged here: every read skips the expired ones (and an enqueue drops expired entries)."""
    with db:
        db.execute("BEGIN")
        db.execute(
            "DELETE FROM run_log WHERE run_id IN"
            " (SELECT run_id FROM logged_runs WHERE expires < ?)",
            (now,),
        )
        db.execute("DELETE FROM logged_runs WHERE expires < ?", (now,))
        db.execute("DELETE FROM connections WHERE expires < ?", (now,))
