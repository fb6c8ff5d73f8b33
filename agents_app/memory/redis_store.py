"""Redis, for serverless and several instances: history (SDK RedisSession) and run state.

Every key carries a TTL, so abandoned conversations expire on their own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as redis
from agents import Session
from agents.extensions.memory.redis_session import RedisSession
from redis.exceptions import RedisError

from agents_app.memory.store import StoreUnavailable

T = TypeVar("T")
PREFIX = "agents-app"
# Delete the lock only if this run still holds it (a late release must not free a new run).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"
_REFRESH = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end"
)


class RedisStore:
    def __init__(self, url: str, *, ttl_s: int, lock_ttl_s: float) -> None:
        # Short socket timeouts: a Redis that went away fails the run quickly, not at the
        # platform's deadline.
        self._client: redis.Redis = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2, retry_on_timeout=False
        )
        self._ttl_s = ttl_s
        self._lock_ms = int(lock_ttl_s * 1000)

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

    async def claim(self, conversation_id: str, run_id: str) -> bool:
        key = self._key("lock", conversation_id)
        claimed = await self._call(lambda: self._client.set(key, run_id, nx=True, px=self._lock_ms))
        if claimed:
            await self._call(lambda: self._client.delete(self._key("cancel", conversation_id)))
        return bool(claimed)

    async def refresh(self, conversation_id: str, run_id: str) -> None:
        key = self._key("lock", conversation_id)
        await self._call(lambda: self._eval(_REFRESH, key, run_id, self._lock_ms))

    async def release(self, conversation_id: str, run_id: str) -> None:
        await self._call(lambda: self._eval(_RELEASE, self._key("lock", conversation_id), run_id))

    async def request_cancel(self, conversation_id: str) -> bool:
        holder = await self._call(lambda: self._client.get(self._key("lock", conversation_id)))
        if holder is None:
            return False
        key = self._key("cancel", conversation_id)
        await self._call(lambda: self._client.set(key, holder, px=self._lock_ms))
        return True

    async def cancel_requested(self, conversation_id: str, run_id: str) -> bool:
        flag = await self._call(lambda: self._client.get(self._key("cancel", conversation_id)))
        return flag is not None and _text(flag) == run_id

    async def last_agent(self, conversation_id: str) -> str | None:
        value = await self._call(lambda: self._client.get(self._key("agent", conversation_id)))
        return None if value is None else _text(value)

    async def set_last_agent(self, conversation_id: str, agent_id: str) -> None:
        key = self._key("agent", conversation_id)
        await self._call(lambda: self._client.set(key, agent_id, ex=self._ttl_s))

    async def _eval(self, script: str, key: str, *args: Any) -> Any:
        return await self._client.eval(script, 1, key, *args)

    async def aclose(self) -> None:
        await self._client.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
