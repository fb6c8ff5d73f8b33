"""Frames to an API Gateway WebSocket connection through the gRPC Connection Service.

The call is async (grpc.aio) on one long-lived channel: the seed called a blocking `Send`
per delta, which stalled the event loop, and so every other stream in the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import grpc
import structlog
from yandex.cloud.serverless.apigateway.websocket.v1.connection_service_pb2 import (
    SendToConnectionRequest,
)
from yandex.cloud.serverless.apigateway.websocket.v1.connection_service_pb2_grpc import (
    ConnectionServiceStub,
)

from agents_app.protocol.sink import SinkClosed

log = structlog.get_logger("agents_app.sinks.connection_service_client")

Metadata = Sequence[tuple[str, str]]
MetadataProvider = Callable[[], Awaitable[Metadata]]

# The connection is gone for good: stop at once, no retries.
GONE = frozenset(
    {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.CANCELLED}
)
# Worth a couple of quick retries; anything else is not.
TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})


class ConnectionServiceSink:
    def __init__(
        self,
        stub: ConnectionServiceStub,
        connection_id: str,
        metadata: MetadataProvider,
        *,
        timeout_s: float = 5.0,
        attempts: int = 3,
        backoff_s: float = 0.1,
    ) -> None:
        self._stub = stub
        self._connection_id = connection_id
        self._metadata = metadata
        self._timeout_s = timeout_s
        self._attempts = attempts
        self._backoff_s = backoff_s
        self.sends = 0

    async def send(self, frame: str) -> None:
        request = SendToConnectionRequest(
            connection_id=self._connection_id,
            type=SendToConnectionRequest.TEXT,
            data=frame.encode(),
        )
        for attempt in range(1, self._attempts + 1):
            try:
                await self._stub.Send(
                    request, metadata=await self._metadata(), timeout=self._timeout_s
                )
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                if code in TRANSIENT and attempt < self._attempts:
                    await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
                    continue
                log.warning(
                    "connection_service.send_failed",
                    code=code.name,
                    attempt=attempt,
                    gone=code in GONE,
                )
                raise SinkClosed(f"Send failed: {code.name}") from exc
            self.sends += 1
            return
