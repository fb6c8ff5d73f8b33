"""Redis, for serverless and several instances: history (SDK RedisSession), run state and
the run log (a Stream per run, entry ids `<seq>-0`).

Every key carries a TTL, so abandoned conversations and runs expire on their own. Stream ids
do double duty: Redis refuses an id not above the last, so a seq is logged at most once, and
`XREAD BLOCK` after `<seq>-0` is exactly "what came after this seq".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as redis
from agents import Session
from agents.extensions.memory.redis_session import RedisSession
from redis.exceptions import RedisError, ResponseError

from agents_app.memory.store import (
    CANCELLED,
    Lease,
    LoggedEvent,
    RunRecord,
    SeqTaken,
    StoreUnavailable,
    flag,
    flagged_reason,
)

T = TypeVar("T")
PREFIX = "agents-app"
# Far above what a coalesced run emits; a bound so one runaway run cannot fill the server.
LOG_MAXLEN = 50_000
# Below the client's 2 s socket timeout, or a blocking read would look like a dead server.
MAX_BLOCK_MS = 1000
# Delete the lock only if this run still holds it (a late release must not free a new run).
_REFRESH = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end"
)


# Claim the lock only if no message waits, or if this run is the first that does; then clear
# the cancel flag, note the conversation's last run, and answer its last agent (KEYS: lock,
# queue list, queue records, the run's queued marker, cancel flag, last run, last agent;
# ARGV: run id, lock ms, history ttl s). Answers false when not claimed, else {agent or ''}.
_CLAIM = """
local head = redis.call('lindex', KEYS[2], 0)
if head and head ~= ARGV[1] then return false end
if not redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
if head then
  redis.call('lpop', KEYS[2])
  redis.call('hdel', KEYS[3], ARGV[1])
  redis.call('del', KEYS[4])
end
redis.call('del', KEYS[5])
redis.call('set', KEYS[6], ARGV[1], 'EX', ARGV[3])
return {redis.call('get', KEYS[7]) or ''}
"""
# Release the lock if this run holds it, remember its last agent (ARGV[2], '' for none), and
# answer how many messages wait (KEYS: lock, last agent, queue list; ARGV: run id, agent,
# history ttl s).
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('del', KEYS[1])
  if ARGV[2] ~= '' then redis.call('set', KEYS[2], ARGV[2], 'EX', ARGV[3]) end
end
return redis.call('llen', KEYS[3])
"""
# KEYS: queue list, queue records, the run's queued marker; ARGV: run id, record, cap (0:
# none), front (1/0), ttl ms, conversation id. Answers the position, or 0 when full.
_ENQUEUE = """
local n = redis.call('llen', KEYS[1])
if tonumber(ARGV[3]) > 0 and n >= tonumber(ARGV[3]) then return 0 end
if ARGV[4] == '1' then redis.call('lpush', KEYS[1], ARGV[1])
else redis.call('rpush', KEYS[1], ARGV[1]) end
redis.call('hset', KEYS[2], ARGV[1], ARGV[2])
redis.call('set', KEYS[3], ARGV[6], 'PX', ARGV[5])
redis.call('pexpire', KEYS[1], ARGV[5])
redis.call('pexpire', KEYS[2], ARGV[5])
if ARGV[4] == '1' then return 1 end
return n + 1
"""
_DEQUEUE = """
if redis.call('lrem', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('hdel', KEYS[2], ARGV[1])
redis.call('del', KEYS[3])
return 1
"""


class RedisStore:
    def __init__(
        self,
        url: str,
        *,
        ttl_s: int,
        lock_ttl_s: float,
        log_ttl_s: float = 600.0,
        queue_ttl_s: float = 3600.0,
    ) -> None:
        # Short socket timeouts: a Redis that went away fails the run quickly, not at the
        # platform's deadline.
        self._client: redis.Redis = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2, retry_on_timeout=False
        )
        self._ttl_s = ttl_s
        self._lock_ms = int(lock_ttl_s * 1000)
        self._log_ms = int(log_ttl_s * 1000)
        self._queue_ms = int(queue_ttl_s * 1000)

    async def _call(self, work: Callable[[], Awaitable[T]]) -> T:
        try:
            return await work()
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis: {type(exc).__name__}") from exc

    def session(self, conversation_id: str) -> Session:
        return RedisSession(
            conversation_id,
            redis_client=self._client,
            key_prefix=f"{PREFIX}:session",
            ttl=self._ttl_s,
        )

    async def release_session(self, session: Session) -> None:
        return None  # sessions share the store's client

    def _key(self, kind: str, conversation_id: str) -> str:
        return f"{PREFIX}:{kind}:{conversation_id}"

    def _queue_keys(self, conversation_id: str, run_id: str) -> list[str]:
        return [
            self._key("queue", conversation_id),
            self._key("queued", conversation_id),
            self._key("queued-run", run_id),
        ]

    async def claim(self, conversation_id: str, run_id: str) -> Lease | None:
        keys = [
            self._key("lock", conversation_id),
            *self._queue_keys(conversation_id, run_id),
            self._key("cancel", conversation_id),
            self._key("last-run", conversation_id),
            self._key("agent", conversation_id),
        ]
        claimed = await self._call(
            lambda: self._client.eval(_CLAIM, len(keys), *keys, run_id, self._lock_ms, self._ttl_s)
        )
        if not claimed:
            return None
        return Lease(last_agent=_text(claimed[0]) or None)

    async def refresh(self, conversation_id: str, run_id: str) -> None:
        key = self._key("lock", conversation_id)
        await self._call(lambda: self._eval(_REFRESH, key, run_id, self._lock_ms))

    async def release(
        self, conversation_id: str, run_id: str, *, last_agent: str | None = None
    ) -> bool:
        keys = [
            self._key("lock", conversation_id),
            self._key("agent", conversation_id),
            self._key("queue", conversation_id),
        ]
        waiting = await self._call(
            lambda: self._client.eval(
                _RELEASE, len(keys), *keys, run_id, last_agent or "", self._ttl_s
            )
        )
        return bool(waiting)

    async def request_cancel(self, conversation_id: str, reason: str = CANCELLED) -> bool:
        holder = await self._call(lambda: self._client.get(self._key("lock", conversation_id)))
        if holder is None:
            return False
        key, value = self._key("cancel", conversation_id), flag(_text(holder), reason)
        await self._call(lambda: self._client.set(key, value, px=self._lock_ms))
        return True

    async def cancel_requested(self, conversation_id: str, run_id: str) -> str | None:
        value = await self._call(lambda: self._client.get(self._key("cancel", conversation_id)))
        return flagged_reason(None if value is None else _text(value), run_id)

    async def append_events(
        self, run_id: str, conversation_id: str, events: list[LoggedEvent]
    ) -> None:
        stream, owner = self._key("log", run_id), self._key("run", run_id)

        async def work() -> None:
            async with self._client.pipeline(transaction=True) as pipe:
                for seq, event in events:
                    pipe.xadd(stream, {"e": event}, id=f"{seq}-0", maxlen=LOG_MAXLEN)
                pipe.set(owner, conversation_id, px=self._log_ms)
                pipe.pexpire(stream, self._log_ms)
                if events and events[0][0] == 1:  # a run's first events: its conversation's last
                    last = self._key("last-run", conversation_id)
                    pipe.set(last, run_id, ex=self._ttl_s)
                await pipe.execute()

        try:
            await self._call(work)
        except StoreUnavailable as exc:
            if isinstance(exc.__cause__, ResponseError) and "smaller" in str(exc.__cause__):
                raise SeqTaken(run_id) from exc
            raise

    async def read_events(
        self, run_id: str, after_seq: int, *, wait_s: float = 0.0
    ) -> list[LoggedEvent]:
        stream = self._key("log", run_id)
        block = min(MAX_BLOCK_MS, int(wait_s * 1000)) if wait_s > 0 else None
        entries: Any
        if block is None:
            entries = await self._call(lambda: self._client.xrange(stream, f"({after_seq}-0"))
        else:
            answer: Any = await self._call(
                lambda: self._client.xread({stream: f"{after_seq}-0"}, block=block)
            )
            entries = answer[0][1] if answer else []
        return [(_seq(entry_id), _text(fields[b"e"])) for entry_id, fields in entries]

    async def find_run(
        self, *, run_id: str | None = None, conversation_id: str | None = None
    ) -> RunRecord | None:
        if run_id is not None:
            owner = await self._call(lambda: self._client.get(self._key("run", run_id)))
            if owner is None:
                return None
            cid = _text(owner)
            return RunRecord(run_id, cid, await self._holder(cid) == run_id)
        assert conversation_id is not None
        holder = await self._holder(conversation_id)
        if holder is not None:
            return RunRecord(holder, conversation_id, True)
        last = await self._call(lambda: self._client.get(self._key("last-run", conversation_id)))
        if last is None:
            return None
        return await self.find_run(run_id=_text(last))

    async def enqueue(
        self, conversation_id: str, run_id: str, record: str, *, cap: int | None, front: bool
    ) -> int | None:
        keys = self._queue_keys(conversation_id, run_id)
        args = (run_id, record, cap or 0, int(front), self._queue_ms, conversation_id)
        position = await self._call(lambda: self._client.eval(_ENQUEUE, len(keys), *keys, *args))
        return int(position) or None

    async def queue(self, conversation_id: str) -> list[tuple[str, str]]:
        keys = self._queue_keys(conversation_id, "")

        async def work() -> list[tuple[str, str]]:
            ids = [_text(i) for i in await self._client.lrange(keys[0], 0, -1)]
            records = await self._client.hmget(keys[1], ids) if ids else []
            return [(i, _text(r)) for i, r in zip(ids, records, strict=True) if r is not None]

        return await self._call(work)

    async def queued_in(self, run_id: str) -> str | None:
        value = await self._call(lambda: self._client.get(self._key("queued-run", run_id)))
        return None if value is None else _text(value)

    async def dequeue(self, conversation_id: str, run_id: str) -> bool:
        keys = self._queue_keys(conversation_id, run_id)
        removed = await self._call(lambda: self._client.eval(_DEQUEUE, len(keys), *keys, run_id))
        return bool(removed)

    async def save_approval(
        self, run_id: str, conversation_id: str, record: str, ttl_s: float
    ) -> None:
        ms = int(ttl_s * 1000)

        async def work() -> None:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.set(self._key("approval", run_id), f"{conversation_id}\n{record}", px=ms)
                pipe.set(self._key("approval-in", conversation_id), run_id, px=ms)
                await pipe.execute()

        await self._call(work)

    async def approval(self, run_id: str) -> tuple[str, str] | None:
        value = await self._call(lambda: self._client.get(self._key("approval", run_id)))
        if value is None:
            return None
        conversation_id, _, record = _text(value).partition("\n")
        return conversation_id, record

    async def take_approval(self, run_id: str) -> bool:
        # DEL answers 1 to exactly one caller: the decision is acted on once.
        deleted = await self._call(lambda: self._client.delete(self._key("approval", run_id)))
        return bool(deleted)

    async def pending_approval(self, conversation_id: str) -> str | None:
        run_id = await self._call(
            lambda: self._client.get(self._key("approval-in", conversation_id))
        )
        if run_id is None:
            return None
        found = _text(run_id)
        # The pointer outlives a taken approval until its TTL: check the record is still there.
        exists = await self._call(lambda: self._client.exists(self._key("approval", found)))
        return found if exists else None

    async def save_connection(self, connection_id: str, record: str, ttl_s: float) -> None:
        key = self._key("connection", connection_id)
        await self._call(lambda: self._client.set(key, record, px=int(ttl_s * 1000)))

    async def connection(self, connection_id: str) -> str | None:
        value = await self._call(lambda: self._client.get(self._key("connection", connection_id)))
        return None if value is None else _text(value)

    async def _holder(self, conversation_id: str) -> str | None:
        value = await self._call(lambda: self._client.get(self._key("lock", conversation_id)))
        return None if value is None else _text(value)

    async def _eval(self, script: str, key: str, *args: Any) -> Any:
        return await self._client.eval(script, 1, key, *args)

    async def aclose(self) -> None:
        await self._client.aclose()


def _seq(entry_id: bytes | str) -> int:
    return int(_text(entry_id).partition("-")[0])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
