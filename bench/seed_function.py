"""The reference the benchmarks measure against: a function shaped like the seed tutorial's.

Written for the benchmarks, after the pattern of ../shared/seed/streaming-openai-agent.ru.md:
the module imports what the tutorial's function.py imports and builds its clients at import;
`handler` builds an agent and a provider per call, runs it with `asyncio.run`, and sends every
text delta with a blocking Connection Service `Send` through a client fetched for that delta.
One deliberate difference: the tutorial gets its client from `yandexcloud.SDK().client(...)`,
which discovers endpoints over the network; here each delta gets a plain gRPC channel and stub
to the loopback Connection Service instead (SEED_CONNECTIONS_ENDPOINT, SEED_TOKEN).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
import uuid
from typing import Any

import grpc
from agents import Agent, OpenAIProvider, RunConfig, Runner, function_tool, set_tracing_disabled
from openai import AsyncOpenAI
from openai.types.responses import ResponseTextDeltaEvent
from yandex.cloud.serverless.apigateway.websocket.v1.connection_service_pb2 import (
    SendToConnectionRequest,
)
from yandex.cloud.serverless.apigateway.websocket.v1.connection_service_pb2_grpc import (
    ConnectionServiceStub,
)
from yandexcloud import SDK  # type: ignore[attr-defined]

MODEL_URL = os.environ.get("BASE_URL")
MODEL_KEY = os.environ.get("API_KEY", "bench")
CONNECTIONS = os.environ.get("SEED_CONNECTIONS_ENDPOINT", "127.0.0.1:0")
TOKEN = os.environ.get("SEED_TOKEN", "")

openai_client = AsyncOpenAI(base_url=MODEL_URL, api_key=MODEL_KEY)
set_tracing_disabled(disabled=True)
yc_sdk = SDK()


@function_tool
def how_many_jokes() -> int:
    return random.randint(1, 10)


def send_blocking(connection_id: str, text: str) -> None:
    """A client per call and a blocking Send: the event loop waits for every frame."""
    with grpc.insecure_channel(CONNECTIONS) as channel:
        ConnectionServiceStub(channel).Send(
            SendToConnectionRequest(
                connection_id=connection_id,
                type=SendToConnectionRequest.TEXT,
                data=text.encode("utf-8"),
            ),
            metadata=[("authorization", f"Bearer {TOKEN}")],
        )


async def stream_one(connection_id: str, text: str) -> int:
    agent = Agent(
        name="Joker",
        instructions="First call the `how_many_jokes` tool, then tell that many jokes.",
        tools=[how_many_jokes],
        model="yandexgpt/latest",
    )
    provider = OpenAIProvider(api_key=MODEL_KEY, base_url=MODEL_URL, use_responses=True)
    result = Runner.run_streamed(agent, input=text, run_config=RunConfig(model_provider=provider))
    sends = 0
    async for event in result.stream_events():
        if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent):
            send_blocking(connection_id, event.data.delta)
            sends += 1
    return sends


async def stream_many(connection_ids: list[str], text: str) -> list[int]:
    """Several users' streams in one process, as concurrent invocations of one instance."""
    return list(await asyncio.gather(*(stream_one(cid, text) for cid in connection_ids)))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    connection_id = event["requestContext"]["connectionId"]
    asyncio.run(stream_one(connection_id, event["body"]))
    return {"statusCode": 200}


def main(count: int) -> None:
    """One measurement in a fresh process: the tutorial's shared HTTP client cannot outlive
    the `asyncio.run` loop it first ran on (its second invocation on a warm instance fails
    with "Event loop is closed"), so each seed measurement gets its own process."""
    ids = [uuid.uuid4().hex[:20] for _ in range(count)]
    started = time.perf_counter()
    sends = asyncio.run(stream_many(ids, "go"))
    elapsed = time.perf_counter() - started
    print(json.dumps({"elapsed_s": elapsed, "ids": ids, "sends": sends}), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
