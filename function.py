"""Yandex Cloud Function entry point (`--entrypoint function.handler`): a thin adapter.

API Gateway WebSocket calls it for every connect, message and disconnect; the work is in
`agents_app.cloud`.
"""

from typing import Any

from agents_app.cloud.handler import handle
from agents_app.cloud.warmup import on_load


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context)


# AGENTS_WARM_UP=load|both: start warming now, in the background (provisioned instances load
# the code before any request comes).
on_load()
