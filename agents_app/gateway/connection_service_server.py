"""The gateway's gRPC Connection Service, on loopback: writes `Send`s to the right socket."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from yandex.cloud.serverless.apigateway.websocket.v1 import connection_service_pb2 as pb
from yandex.cloud.serverless.apigateway.websocket.v1.connection_pb2 import Connection
from yandex.cloud.serverless.apigateway.websocket.v1.connection_service_pb2_grpc import (
    ConnectionServiceServicer,
    add_ConnectionServiceServicer_to_server,
)


@dataclass
class Peer:
    send_text: Callable[[str], Awaitable[None]]
    send_bytes: Callable[[bytes], Awaitable[None]]
    close: Callable[[], Awaitable[None]]
    connected_at_ms: int


class ConnectionRegistry(ConnectionServiceServicer):
    """Open sockets by connection id, served as the Connection Service API."""

    def __init__(self, *, token: str, send_delay_s: float = 0.0) -> None:
        self.peers: dict[str, Peer] = {}
        self.sends: Counter[str] = Counter()  # delivered
        self.attempts: Counter[str] = Counter()  # asked for, delivered or not
        self.send_delay_s = send_delay_s
        self._token = token

    async def Send(
        self, request: pb.SendToConnectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.SendToConnectionResponse:
        self.attempts[request.connection_id] += 1
        peer = await self._peer(request.connection_id, context)
        if self.send_delay_s:
            await asyncio.sleep(self.send_delay_s)
        self.sends[request.connection_id] += 1
        if request.type == pb.SendToConnectionRequest.BINARY:
            await peer.send_bytes(request.data)
        else:
            await peer.send_text(request.data.decode())
        return pb.SendToConnectionResponse()

    async def Get(
        self, request: pb.GetConnectionRequest, context: grpc.aio.ServicerContext
    ) -> Connection:
        peer = await self._peer(request.connection_id, context)
        connected_at = Timestamp()
        connected_at.FromMilliseconds(peer.connected_at_ms)
        return Connection(id=request.connection_id, connected_at=connected_at)

    async def Disconnect(
        self, request: pb.DisconnectRequest, context: grpc.aio.ServicerContext
    ) -> pb.DisconnectResponse:
        peer = await self._peer(request.connection_id, context)
        await peer.close()
        return pb.DisconnectResponse()

    async def _peer(self, connection_id: str, context: grpc.aio.ServicerContext) -> Peer:
        metadata = dict(context.invocation_metadata() or ())
        if metadata.get("authorization") != f"Bearer {self._token}":
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong IAM token")
        peer = self.peers.get(connection_id)
        if peer is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"connection {connection_id} not found")
        assert peer is not None
        return peer


async def start_grpc_server(
    registry: ConnectionRegistry, host: str = "127.0.0.1"
) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server()
    add_ConnectionServiceServicer_to_server(registry, server)
    port = server.add_insecure_port(f"{host}:0")
    await server.start()
    return server, f"{host}:{port}"
