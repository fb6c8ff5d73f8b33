"""Answering messages when the function cannot serve them (a configuration error).

The client gets a typed `error{code:"unavailable"}` and nothing about why: the reason is for
the operator, who finds it in the log once per instance.
"""

from __future__ import annotations

from agents_app.cloud.runtime import FunctionRuntime
from agents_app.dispatch.outbox import Outbox
from agents_app.protocol.encoders import new_encoder
from agents_app.protocol.events import Error
from agents_app.sinks.connection_service_client import ConnectionServiceSink

UNAVAILABLE = "The service is not configured correctly; please try again later."


async def answer_unavailable(
    runtime: FunctionRuntime, connection_id: str, token: str | None
) -> int:
    """Send the client the error; returns the HTTP status for the platform."""
    runtime.tokens.offer(token)
    sink = ConnectionServiceSink(runtime.stub, connection_id, runtime.tokens.metadata)
    outbox = Outbox(sink, new_encoder(runtime.settings.output_format)).start()
    outbox.put(Error(code="unavailable", message=UNAVAILABLE))
    await outbox.aclose()
    return 503
