"""The API Gateway WebSocket event a function receives, parsed into what we act on."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

EventType = Literal["CONNECT", "MESSAGE", "DISCONNECT"]
EVENT_TYPES: frozenset[str] = frozenset({"CONNECT", "MESSAGE", "DISCONNECT"})


class BadEvent(ValueError):
    """The invocation cannot be handled; `connection_id` is set when we can still reply."""

    def __init__(self, message: str, connection_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.connection_id = connection_id


@dataclass(frozen=True)
class GatewayEvent:
    type: EventType
    connection_id: str
    body: str | bytes  # bytes for binary frames (isBase64Encoded)
    headers: Mapping[str, str]
    query: Mapping[str, str]


def parse_gateway_event(event: Any) -> GatewayEvent:
    if not isinstance(event, Mapping):
        raise BadEvent("The event is not an object.")
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        raise BadEvent("requestContext is missing.")
    connection_id = context.get("connectionId")
    if not isinstance(connection_id, str) or not connection_id:
        raise BadEvent("requestContext.connectionId is missing.")
    event_type = context.get("eventType")
    if event_type not in EVENT_TYPES:
        raise BadEvent(f"Unknown requestContext.eventType {event_type!r}.", connection_id)
    raw_headers = event.get("headers")
    headers = (
        {str(k).lower(): str(v) for k, v in raw_headers.items()}
        if isinstance(raw_headers, Mapping)
        else {}
    )
    return GatewayEvent(
        event_type, connection_id, _body(event, connection_id), headers, _query(event)
    )


def _query(event: Mapping[str, Any]) -> dict[str, str]:
    """The connect URL's query string (CONNECT only), from either of the gateway's forms."""
    query: dict[str, str] = {}
    multi = event.get("multiValueQueryStringParameters")
    if isinstance(multi, Mapping):
        for key, values in multi.items():
            if isinstance(values, list) and values:
                query[str(key)] = str(values[-1])
    single = event.get("queryStringParameters")
    if isinstance(single, Mapping):
        query.update({str(k): str(v) for k, v in single.items()})
    return query


def _body(event: Mapping[str, Any], connection_id: str) -> str | bytes:
    body = event.get("body")
    if body is None:
        return ""
    if not isinstance(body, str):
        raise BadEvent("body must be a string.", connection_id)
    if not event.get("isBase64Encoded"):
        return body
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise BadEvent("body is not valid base64.", connection_id) from None
