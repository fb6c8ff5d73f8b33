"""The store interface, and choosing one from `SESSION_STORE`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from agents import Session

from agents_app.secrets import redact_url

CANCELLED = "cancelled by client"


def flag(run_id: str, reason: str) -> str:
    """A cancel flag: which run, and why (`run.cancelled.reason`)."""
    return f"{run_id}\n{reason}"


def flagged_reason(value: str | None, run_id: str) -> str | None:
    if value is None:
        return None
    target, _, reason = value.partition("\n")
    return (reason or CANCELLED) if target == run_id else None


class StoreUnavailable(Exception):
    """The store cannot be reached; the run fails with a retryable error, nothing is lost."""


class SeqTaken(Exception):
    """Another writer already logged an event at this seq (the log is append-only)."""


# One logged event: its seq and its JSON encoding (the `json` wire format, seq included).
LoggedEvent = tuple[int, str]


@dataclass(frozen=True)
class RunRecord:
    """A run the log knows: where it belongs and whether its conversation lock still holds."""

    run_id: str
    conversation_id: str
    running: bool
    queued: bool = False  # a message still waiting for its conversation (not yet logged)


@dataclass(frozen=True)
class Lease:
    """A conversation's run lock, as `claim` took it, with what it read on the way (one trip
    to the store per run start instead of three)."""

    last_agent: str | None = None  # the agent that answered the conversation's last run
    # Items in the conversation's history now, if the store counts them cheaply (SQLite);
    # None: ask the session (a rollback needs to know where this turn's items begin).
    history_items: int | None = None


class ConversationStore(Protocol):
    def session(self, conversation_id: str) -> Session:
        """The SDK session holding this conversation's history."""

    async def release_session(self, session: Session) -> None: ...

    async def claim(self, conversation_id: str, run_id: str) -> Lease | None:
        """Take the conversation's run lock (with a TTL), and take `run_id` off its queue.

        None if another run holds the lock, or if messages wait and `run_id` is not the
        first of them: a queued message is never overtaken.
        """

    async def refresh(self, conversation_id: str, run_id: str) -> None:
        """Extend the lock while the run is alive."""

    async def release(
        self, conversation_id: str, run_id: str, *, last_agent: str | None = None
    ) -> bool:
        """Give the lock back (remembering `last_agent` when given); whether messages wait
        in the conversation (True when the store cannot tell cheaply)."""

    async def request_cancel(self, conversation_id: str, reason: str = CANCELLED) -> bool:
        """Flag the running run for cancellation; False if no run holds the lock."""

    async def cancel_requested(self, conversation_id: str, run_id: str) -> str | None:
        """The reason this run was asked to stop, or None."""

    # The run log: every event a run emits, by seq, kept `log_ttl_s` after the last one.

    async def append_events(
        self, run_id: str, conversation_id: str, events: list[LoggedEvent]
    ) -> None:
        """Append in seq order; `SeqTaken` if a seq is already logged (nothing is overwritten)."""

    async def read_events(
        self, run_id: str, after_seq: int, *, wait_s: float = 0.0
    ) -> list[LoggedEvent]:
        """Events with seq > `after_seq`; with `wait_s`, wait up to that long for the first."""

    async def find_run(
        self, *, run_id: str | None = None, conversation_id: str | None = None
    ) -> RunRecord | None:
        """A logged run by id, or a conversation's running run, else its last logged one."""

    # Messages waiting for their conversation (multitask `enqueue`), oldest first.

    async def enqueue(
        self, conversation_id: str, run_id: str, record: str, *, cap: int | None, front: bool
    ) -> int | None:
        """Queue a message (at the back, or the `front`); its position from 1, or None when
        `cap` messages already wait."""

    async def queue(self, conversation_id: str) -> list[tuple[str, str]]:
        """(run id, record) of every message waiting in this conversation, in order."""

    async def queued_in(self, run_id: str) -> str | None:
        """The conversation a waiting message belongs to, or None if it waits nowhere."""

    async def dequeue(self, conversation_id: str, run_id: str) -> bool:
        """Take a waiting message off; True for exactly one caller."""

    # Runs paused for approval: their SDK state, kept here and never sent to a client.

    async def save_approval(
        self, run_id: str, conversation_id: str, record: str, ttl_s: float
    ) -> None:
        """Keep a paused run's record until it is taken or `ttl_s` passes."""

    async def approval(self, run_id: str) -> tuple[str, str] | None:
        """(conversation id, record) of a paused run, or None (unknown, taken or expired)."""

    async def take_approval(self, run_id: str) -> bool:
        """Remove it; True for exactly one caller, however many try at once."""

    async def pending_approval(self, conversation_id: str) -> str | None:
        """The run of this conversation that waits for approval, if any."""

    # What a client asked for when its connection opened (API Gateway shows the connect
    # request only to CONNECT), for its messages' invocations on any instance.

    async def save_connection(self, connection_id: str, record: str, ttl_s: float) -> None:
        """Keep a connection's record for `ttl_s` (replacing any earlier one)."""

    async def connection(self, connection_id: str) -> str | None:
        """The connection's record, or None (never saved, or expired)."""

    async def aclose(self) -> None: ...


def open_store(
    url: str,
    *,
    ttl_s: int,
    lock_ttl_s: float,
    default_dir: Path,
    log_ttl_s: float = 600.0,
    queue_ttl_s: float = 3600.0,
) -> ConversationStore:
    """`sqlite:///path.db`, `sqlite://` (default file under `default_dir`) or `redis://…`."""
    scheme = urlparse(url).scheme
    if scheme in {"redis", "rediss", "unix"}:
        from agents_app.memory.redis_store import RedisStore

        return RedisStore(
            url, ttl_s=ttl_s, lock_ttl_s=lock_ttl_s, log_ttl_s=log_ttl_s, queue_ttl_s=queue_ttl_s
        )
    if scheme == "sqlite":
        from agents_app.memory.sqlite_store import SQLiteStore

        # As in SQLAlchemy: sqlite:///rel.db is relative to the cwd, sqlite:////abs.db absolute.
        path = url.removeprefix("sqlite://").removeprefix("/")
        target = Path(path) if path else default_dir / "conversations.db"
        return SQLiteStore(
            target, lock_ttl_s=lock_ttl_s, log_ttl_s=log_ttl_s, queue_ttl_s=queue_ttl_s
        )
    # Never echo the URL whole: it may carry a password.
    raise ValueError(
        f"SESSION_STORE must be sqlite:///…, redis://… or rediss://…, not {redact_url(url)!r}"
    )
