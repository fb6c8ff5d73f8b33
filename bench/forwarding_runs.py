"""The forwarding benchmark's ways of running one stream: ours through `function.handler`
as the platform calls it, the seed in a process of its own, and the SDK alone (the floor)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agents_app.testing.configs import unguarded_config
from bench.common import PYTHON, ROOT, Services, bench_env


def gateway_event(
    connection_id: str, event_type: str, body: str = "", query: dict[str, str] | None = None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "requestContext": {"connectionId": connection_id, "eventType": event_type},
        "headers": {},
        "body": body,
        "isBase64Encoded": False,
    }
    if query is not None:  # the gateway gives the connect URL's query to CONNECT only
        event["queryStringParameters"] = query
    return event


def _connection_ids(count: int) -> list[str]:
    return [uuid.uuid4().hex[:20] for _ in range(count)]


class Ours:
    """`function.handler` against the services, with the environment it reads when deployed."""

    def __init__(self, services: Services) -> None:
        os.environ.update(
            {
                "AGENTS_PROVIDER": "openai",
                "API_KEY": "bench",
                "BASE_URL": services.openai_url,
                "AGENTS_CONNECTIONS_ENDPOINT": services.grpc_target,
                "AGENTS_CONNECTIONS_INSECURE": "true",
                "LOG_LEVEL": "WARNING",
                "AGENTS_CONFIG": str(unguarded_config()),  # see bench_env
            }
        )
        from agents_app.cloud.runtime import get_runtime, reset_runtime
        from agents_app.gateway.emulator import InvocationContext
        from function import handler

        reset_runtime()
        self._handler = handler
        self._context = InvocationContext
        self._token = services.token
        self.runtime = get_runtime()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="invoke")
        self.answered: dict[str, str | None] = {}

    def _invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        context = self._context(
            deadline=time.monotonic() + 120,
            token={"access_token": self._token, "expires_in": 3600, "token_type": "Bearer"},
        )
        answer = self._handler(event, context)
        if answer["statusCode"] != 200:
            raise RuntimeError(f"handler answered {answer}")
        return answer

    def streams(self, count: int, *, batch: bool = False) -> tuple[float, list[str]]:
        ids = _connection_ids(count)
        if batch:
            for cid in ids:
                self._invoke(gateway_event(cid, "CONNECT", query={"batch": "1"}))
        started = time.perf_counter()
        answers = list(
            self._pool.map(lambda cid: self._invoke(gateway_event(cid, "MESSAGE", "go")), ids)
        )
        elapsed = time.perf_counter() - started
        # A client of batch frames gets its last frame in the answer, which the gateway sends.
        self.answered.update({cid: a.get("body") for cid, a in zip(ids, answers, strict=True)})
        return elapsed, ids

    def floor(self, count: int, *, memory: bool = False) -> float:
        """The same stream with no forwarding: the SDK's events consumed and dropped. With
        `memory`, each run keeps its conversation in the same store ours does (an SDK session),
        which a function run always does: what is left over that is forwarding alone."""
        from agents import Runner

        engine = self.runtime.engine

        async def consume() -> None:
            session = engine.store.session(f"floor-{uuid.uuid4().hex}") if memory else None
            result = Runner.run_streamed(
                engine.graph.agent(None), "go", run_config=engine.run_config(), session=session
            )
            async for _ in result.stream_events():
                pass
            if session is not None:
                await engine.store.release_session(session)

        async def all_of() -> float:
            started = time.perf_counter()
            await asyncio.gather(*(consume() for _ in range(count)))
            return time.perf_counter() - started

        return self.runtime.submit(all_of()).result(timeout=120)

    def close(self) -> None:
        from agents_app.cloud.runtime import reset_runtime

        self._pool.shutdown()
        reset_runtime()
        for name in (
            "AGENTS_PROVIDER",
            "API_KEY",
            "BASE_URL",
            "AGENTS_CONNECTIONS_ENDPOINT",
            "AGENTS_CONFIG",
        ):
            os.environ.pop(name, None)


def seed_streams(services: Services, count: int) -> tuple[float, list[str]]:
    """The seed loop in its own process (see `bench.seed_function.main`), timed inside it."""
    env = bench_env(
        SEED_CONNECTIONS_ENDPOINT=services.grpc_target,
        SEED_TOKEN=services.token,
        BASE_URL=services.openai_url,
        API_KEY="bench",
    )
    done = subprocess.run(
        [PYTHON, "-m", "bench.seed_function", str(count)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return float(answer["elapsed_s"]), list(answer["ids"])
