"""Yandex Cloud Function entry point (`--entrypoint function.handler`): a thin adapter.

API Gateway WebSocket calls it for every connect, message and disconnect; the work is in
`agents_app.cloud`.
"""

from typing import Any

from agents_app.cloud.handler import handle


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context)
