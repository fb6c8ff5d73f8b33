"""What a client asked for on its connect URL (`?batch=1`), kept for its messages.

API Gateway hands the connect request (its query string and headers) to the CONNECT
invocation only; a MESSAGE event carries the connection id and the message. The messages of
one connection may land on any instance, so the choice is written to the conversation store
at CONNECT and read back by the first message an instance serves for that connection. Only
a connection that asked for something is written: a plain CONNECT stays as cheap as before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import structlog

from agents_app.cloud.runtime import FunctionRuntime
from agents_app.dispatch.batching import wants_batch
from agents_app.dispatch.client import Client
from agents_app.memory.store import StoreUnavailable

log = structlog.get_logger("agents_app.cloud")
# API Gateway closes every WebSocket after 60 minutes, and a DISCONNECT may never come.
CONNECTION_TTL_S = 61 * 60


@dataclass(frozen=True)
class ConnectionOptions:
    batch: bool = False

    @classmethod
    def requested(cls, query: Mapping[str, str]) -> ConnectionOptions:
        return cls(batch=wants_batch(query.get("batch")))

    def to_record(self) -> str:
        return json.dumps({"batch": self.batch})

    @classmethod
    def from_record(cls, record: str | None) -> ConnectionOptions:
        try:
            fields = json.loads(record) if record else {}
        except ValueError:
            fields = {}
        return cls(batch=isinstance(fields, dict) and fields.get("batch") is True)


async def remember(
    runtime: FunctionRuntime, connection_id: str, options: ConnectionOptions
) -> None:
    """At CONNECT: keep `options` where every instance finds them."""
    await runtime.runs.engine.store.save_connection(
        connection_id, options.to_record(), CONNECTION_TTL_S
    )
    runtime.client(connection_id).batch = options.batch


async def batch_for(runtime: FunctionRuntime, client: Client) -> bool:
    """Whether this connection gets batch frames; read from the store once per instance."""
    if client.batch is None:
        try:
            record = await runtime.runs.engine.store.connection(client.id)
        except StoreUnavailable as exc:
            # One frame per event until the store answers: slower, never wrong.
            log.warning("connection_options.unavailable", error=str(exc))
            return False
        client.batch = ConnectionOptions.from_record(record).batch
    return client.batch and runtime.settings.output_format == "json"
