"""Start the emulator: the gRPC Connection Service and the WebSocket front, both on loopback."""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from agents_app.gateway.connection_service_server import ConnectionRegistry, start_grpc_server
from agents_app.gateway.emulator import GatewayOptions, Handler, create_gateway_app
from agents_app.server.in_loop import serving

DEFAULT_FUNCTION = Path(__file__).resolve().parents[2] / "function.py"


def load_handler(path: Path = DEFAULT_FUNCTION) -> Handler:
    """`handler` from a function.py file, imported the way the platform imports it."""
    spec = importlib.util.spec_from_file_location("function", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Handler = module.handler
    return handler


@dataclass
class RunningGateway:
    url: str
    registry: ConnectionRegistry
    grpc_target: str
    server: asyncio.Task[None]  # ends when uvicorn stops (Ctrl-C)


@asynccontextmanager
async def running_gateway(
    handler: Handler,
    *,
    host: str = "127.0.0.1",
    port: int = 8081,
    options: GatewayOptions | None = None,
    send_delay_s: float = 0.0,
) -> AsyncIterator[RunningGateway]:
    options = options or GatewayOptions()
    registry = ConnectionRegistry(token=options.token, send_delay_s=send_delay_s)
    grpc_server, grpc_target = await start_grpc_server(registry)
    # The function finds its Connection Service through its environment, as deployed.
    os.environ["AGENTS_CONNECTIONS_ENDPOINT"] = grpc_target
    os.environ["AGENTS_CONNECTIONS_INSECURE"] = "true"
    app = create_gateway_app(handler, registry, options)
    try:
        async with serving(app, host=host, port=port, ws_max_size=1 << 20) as served:
            yield RunningGateway(served.url(), registry, grpc_target, served.task)
    finally:
        await grpc_server.stop(grace=1)


async def serve_gateway(handler: Handler, *, host: str, port: int, options: GatewayOptions) -> None:
    async with running_gateway(handler, host=host, port=port, options=options) as gateway:
        import structlog

        structlog.get_logger("agents_app.gateway").info(
            "gateway.ready", url=gateway.url, connection_service=gateway.grpc_target
        )
        await gateway.server
