"""`handler(event, context)` for Yandex Cloud Functions: parse, hand over, answer the platform.

Never raises: every failure becomes an HTTP answer for the platform and, where the
connection is known, a typed `error` event for the client.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import structlog

from agents_app.cloud.gateway_event import BadEvent, GatewayEvent, parse_gateway_event

log = structlog.get_logger("agents_app.cloud")


def handle(event: Any, context: Any) -> dict[str, Any]:
    try:
        parsed = parse_gateway_event(event)
    except BadEvent as bad:
        log.warning("gateway.bad_event", reason=bad.message, connection_id=bad.connection_id)
        return _answer(400, {"type": "error", "code": "bad_request", "message": bad.message})
    if parsed.type == "CONNECT":
        if _authorised(parsed):
            from agents_app.cloud.warmup import on_connect

            on_connect()  # AGENTS_WARM_UP=connect|both: the handshake waits for a warm instance
            _remember_options(parsed)
            return _answer(200)
        log.info("gateway.connect_refused", connection_id=parsed.connection_id)
        return _answer(403, {"type": "error", "code": "unauthorized", "message": "Forbidden."})
    with structlog.contextvars.bound_contextvars(
        connection_id=parsed.connection_id, request_id=getattr(context, "request_id", None)
    ):
        try:
            return _invoke(parsed, context)
        except Exception:
            log.exception("function.crashed")
            # Its own code: a crash answered as `bad_request` blames the client and hides
            # among the answers to frames that really are bad.
            body = {"type": "error", "code": "internal", "message": "Something went wrong."}
            return _answer(500, body)


def _invoke(parsed: GatewayEvent, context: Any) -> dict[str, Any]:
    from agents_app.cloud.runtime import get_runtime

    runtime = get_runtime()
    # Heavy imports (openai-agents, gRPC) happen in the warm-up, not at import: this waits
    # for one in progress (from load or a CONNECT) or does it now, once per instance.
    runtime.warm_up(rehearse=False)
    from agents_app.cloud.credentials import token_from_context
    from agents_app.cloud.invocation import handle_disconnect, handle_message

    if runtime.unavailable is not None:
        # Misconfigured (logged once at cold start): no run can exist to cancel, and every
        # message gets the same answer.
        if parsed.type == "DISCONNECT":
            return _answer(200)
        from agents_app.cloud.unavailable import answer_unavailable

        unavailable = answer_unavailable(runtime, parsed.connection_id, token_from_context(context))
        return _answer(runtime.submit(unavailable).result(timeout=30))
    if parsed.type == "DISCONNECT":
        runtime.submit(handle_disconnect(runtime, parsed.connection_id)).result(timeout=30)
        return _answer(200)
    deadline_s = _remaining_s(context)
    answer = runtime.submit(
        handle_message(runtime, parsed, deadline_s=deadline_s, token=token_from_context(context))
    ).result(timeout=None if deadline_s is None else deadline_s + 1)
    if answer.frame is None:
        return _answer(answer.status)
    # The gateway sends an answer's body to the client as a text message (JSON type).
    return _answer(answer.status) | {
        "headers": {"Content-Type": "application/json"},
        "body": answer.frame,
    }


def _remember_options(event: GatewayEvent) -> None:
    """Keep what the connect URL asked for (`?batch=1`); the messages will not carry it."""
    from agents_app.dispatch.batching import wants_batch

    if not wants_batch(event.query.get("batch")):
        return  # nothing to keep: a plain CONNECT needs neither the store nor the engine
    from agents_app.cloud.connection_options import ConnectionOptions, remember
    from agents_app.cloud.runtime import get_runtime

    options = ConnectionOptions.requested(event.query)

    runtime = get_runtime()
    if runtime.unavailable is not None:
        return
    try:
        runtime.submit(remember(runtime, event.connection_id, options)).result(timeout=30)
    except Exception as exc:
        # The connection still works, one event per message; session.ready says which.
        log.warning("gateway.connect_options_lost", error=f"{type(exc).__name__}: {exc}")


def _authorised(event: GatewayEvent) -> bool:
    from agents_app.access import token_matches
    from agents_app.cloud.runtime import instance_settings

    token = instance_settings().auth_token
    expected = token.get_secret_value() if token is not None else None
    return token_matches(expected, event.headers, event.query)


def _remaining_s(context: Any) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    try:
        return max(0.0, float(remaining()) / 1000)
    except (TypeError, ValueError):
        return None


def _answer(status: int, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"statusCode": status}
    if body is not None:
        answer["headers"] = {"Content-Type": "application/json"}
        answer["body"] = json.dumps(body, ensure_ascii=False)
    return answer
