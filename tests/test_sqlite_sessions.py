"""The SQLite store lends its SDK sessions out and keeps them for the next conversation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agents import Session

from agents_app.memory.sqlite_sessions import KEEP
from agents_app.memory.sqlite_store import SQLiteStore


def said(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


async def test_a_session_serves_the_next_conversation_and_keeps_each_history_apart(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "memory.db", lock_ttl_s=5)
    first = store.session("a")
    await first.add_items(said("to a"))
    await store.release_session(first)
    second = store.session("b")
    assert second is first  # not made (and its file opened) again
    assert await second.get_items() == []
    await second.add_items(said("to b"))
    await store.release_session(second)
    again = store.session("a")
    assert [item["content"] for item in await again.get_items()] == ["to a"]
    await store.release_session(again)
    await store.aclose()
    reopened = SQLiteStore(tmp_path / "memory.db", lock_ttl_s=5)
    for conversation, text in (("a", "to a"), ("b", "to b")):
        session = reopened.session(conversation)
        assert [item["content"] for item in await session.get_items()] == [text]
        await reopened.release_session(session)
    await reopened.aclose()


async def test_sessions_lent_at_once_are_all_distinct_and_only_a_few_are_kept(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "memory.db", lock_ttl_s=5)
    lent: list[Session] = [store.session(f"c{i}") for i in range(KEEP + 2)]
    assert len({id(session) for session in lent}) == KEEP + 2
    for index, session in enumerate(lent):
        await session.add_items(said(f"to c{index}"))
    for session in lent:
        await store.release_session(session)
    # The ones past what is kept were closed; the kept ones serve the next conversations.
    with pytest.raises(RuntimeError):
        await lent[-1].get_items()
    again = [store.session(f"d{i}") for i in range(KEEP + 2)]
    assert len({id(s) for s in again} & {id(s) for s in lent}) == KEEP
    for session in again:
        await store.release_session(session)
    await store.aclose()
    with pytest.raises(RuntimeError):  # closing the store closes what it kept
        await again[0].get_items()


async def test_a_session_given_back_twice_or_after_the_store_closed_is_never_left_open(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "memory.db", lock_ttl_s=5)
    twice, late = store.session("a"), store.session("b")
    await store.release_session(twice)
    await store.release_session(twice)  # kept once (never lent to two at a time), still usable
    lent = [store.session("c"), store.session("d")]
    assert lent[0] is twice and lent[1] is not twice
    assert await twice.get_items() == []
    for session in lent:
        await store.release_session(session)
    await store.aclose()
    await store.release_session(late)  # its run ended after the store closed
    with pytest.raises(RuntimeError):
        await late.get_items()


async def test_a_sessions_connections_sync_as_the_stores_own(tmp_path: Path) -> None:
    # The SDK's default (FULL) waits for an fsync on every add_items. The hook that sets it
    # is the SDK's private `_configure_connection`: renamed, this fails.
    store = SQLiteStore(tmp_path / "memory.db", lock_ttl_s=5)
    session = store.session("a")
    await session.add_items(said("hi"))  # from a worker thread: that thread's connection
    assert await session.get_items()
    connections = list(session._connections)  # type: ignore[attr-defined]
    assert connections
    normal = 1
    assert {c.execute("PRAGMA synchronous").fetchone()[0] for c in connections} == {normal}
    await store.release_session(session)
    await store.aclose()
