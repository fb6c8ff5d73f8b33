"""WebSocket in, `handler(event, context)` calls out, Connection Service `Send`s back.

Each connect / message / disconnect becomes one handler call in a worker thread, as the
platform would make it, with the documented event shape. Messages are not serialised per
connection: like the real gateway, a `run.cancel` can arrive while a run's invocation is
still going.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from agents_app.gateway.connection_service_server import ConnectionRegistry, Peer

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
log = structlog.get_logger("agents_app.gateway")


@dataclass
class InvocationContext:
    """What the Cloud Functions runtime passes as `context`."""

    deadline: float
    token: dict[str, Any]
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_name: str = "agents-app"
    function_version: str = "$latest"
    memory_limit_in_mb: int = 512

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass
class GatewayOptions:
    function_timeout_s: float = 60.0
    token: str = field(default_factory=lambda: f"emulator-{uuid.uuid4().hex}")
    workers: int = 64


def create_gateway_app(
    handler: Handler, registry: ConnectionRegistry, options: GatewayOptions
) -> Starlette:
    executor = ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="invoke")

    async def invoke(event: dict[str, Any]) -> dict[str, Any]:
        context = InvocationContext(
            deadline=time.monotonic() + options.function_timeout_s,
            token={"access_token": options.token, "expires_in": 43200, "token_type": "Bearer"},
        )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, handler, event, context)

    async def endpoint(websocket: WebSocket) -> None:
        async def message_invocation(event: dict[str, Any]) -> dict[str, Any]:
            """A MESSAGE invocation; its answer's body goes to the client as one more message,
            after every frame the invocation sent (they were acknowledged before it returned)."""
            reply = await invoke(event)
            with contextlib.suppress(Exception):  # the socket may be gone by now
                await _deliver_body(websocket, reply)
            return reply

        connection_id = _yc_id()
        connected_at = int(time.time() * 1000)
        base = _event_base(websocket, connection_id, connected_at)
        answer = await invoke(_event(base, "CONNECT", **_connect_query(websocket)))
        if answer.get("statusCode") != 200:
            await websocket.close(code=1008)
            return
        await websocket.accept()
        registry.peers[connection_id] = Peer(
            websocket.send_text, websocket.send_bytes, websocket.close, connected_at
        )
        pending: set[asyncio.Task[dict[str, Any]]] = set()
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                task = asyncio.create_task(message_invocation(_message_event(base, message)))
                pending.add(task)
                task.add_done_callback(pending.discard)
        except WebSocketDisconnect:
            pass
        finally:
            registry.peers.pop(connection_id, None)
            await invoke(_event(base, "DISCONNECT"))
            await asyncio.gather(*pending, return_exceptions=True)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    return Starlette(routes=[WebSocketRoute("/", endpoint)], lifespan=lifespan)


async def _deliver_body(websocket: WebSocket, reply: Mapping[str, Any]) -> None:
    body = reply.get("body")
    if not body:
        return
    headers = {str(k).lower(): str(v) for k, v in (reply.get("headers") or {}).items()}
    content_type = headers.get("content-type", "")
    data = base64.b64decode(body) if reply.get("isBase64Encoded") else str(body).encode()
    # As the gateway does: JSON or text/* answers are text messages, anything else binary.
    if content_type.startswith(("application/json", "text/")):
        await websocket.send_text(data.decode())
    else:
        await websocket.send_bytes(data)


def _yc_id() -> str:
    # Connection ids in Yandex Cloud look like 20 lowercase letters and digits.
    return uuid.uuid4().hex[:20]


def _event_base(websocket: WebSocket, connection_id: str, connected_at: int) -> dict[str, Any]:
    headers = dict(websocket.headers)
    return {
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": {
            "connectionId": connection_id,
            "connectedAt": connected_at,
            "identity": {
                "sourceIp": websocket.client.host if websocket.client else "",
                "userAgent": headers.get("user-agent", ""),
            },
        },
    }


def _connect_query(websocket: WebSocket) -> dict[str, Any]:
    """The connect URL's query string, as the gateway gives it: to CONNECT only (a MESSAGE
    event carries the connection id, not the request that opened the connection)."""
    params = websocket.query_params
    return {
        "queryStringParameters": dict(params),
        "multiValueQueryStringParameters": {k: params.getlist(k) for k in params},
    }


def _event(base: dict[str, Any], event_type: str, **extra: Any) -> dict[str, Any]:
    now = time.time()
    context = base["requestContext"] | {
        "eventType": event_type,
        "requestId": str(uuid.uuid4()),
        "requestTimeEpoch": int(now),
    }
    return base | {"requestContext": context, "body": "", "isBase64Encoded": False} | extra


def _message_event(base: dict[str, Any], message: Mapping[str, Any]) -> dict[str, Any]:
    event = _event(base, "MESSAGE")
    event["requestContext"]["messageId"] = str(uuid.uuid4())
    if message.get("text") is not None:
        event["body"] = message["text"]
    else:
        event["body"] = base64.b64encode(message.get("bytes") or b"").decode()
        event["isBase64Encoded"] = True
    return event
