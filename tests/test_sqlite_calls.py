"""The SQLite store's calls: on the loop when the database is free, in a thread when another
connection holds its write lock — never stalling the loop, never failing for it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

import agents_app.memory.sqlite_calls as sqlite_calls
from agents_app.memory.sqlite_store import SQLiteStore


def sqlite_store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "c.db", lock_ttl_s=30)


async def test_a_free_database_is_answered_without_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = sqlite_store(tmp_path)
    await store.append_events("run_0", "c0", [(1, "{}")])  # the first append purges, in a thread

    async def no_threads(*args: object, **kwargs: object) -> None:
        raise AssertionError("went to a thread")

    monkeypatch.setattr(sqlite_calls.asyncio, "to_thread", no_threads)
    lease = await store.claim("c1", "run_1")
    assert lease is not None and lease.history_items == 0
    await store.append_events("run_1", "c1", [(1, "{}")])
    assert await store.release("c1", "run_1") is False
    monkeypatch.undo()
    await store.aclose()


async def test_a_write_lock_held_elsewhere_is_waited_for_in_a_thread(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path)
    other = sqlite3.connect(tmp_path / "c.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process (or the SDK's session) is writing
    loop_turns = 0

    async def count_turns() -> None:
        nonlocal loop_turns
        while True:
            await asyncio.sleep(0.005)
            loop_turns += 1

    counter = asyncio.create_task(count_turns())
    claim = asyncio.create_task(store.claim("c1", "run_1"))
    await asyncio.sleep(0.1)
    assert not claim.done()  # it waits for the lock …
    assert loop_turns >= 5  # … while the loop goes on
    other.execute("COMMIT")
    lease = await asyncio.wait_for(claim, 5)
    assert lease is not None  # and gets it, once, as if nobody had been in the way
    assert await store.claim("c1", "run_2") is None
    counter.cancel()
    other.close()
    await store.aclose()
