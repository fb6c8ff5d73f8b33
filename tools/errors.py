"""The one exception a tool raises when it fails in a way the model should read about."""

from __future__ import annotations


class ToolFailure(Exception):
    """A tool failed; `str(self)` is a short, model-readable reason that carries no secrets.

    The service's SDK error formatter hands this text to the model as the tool's result and
    records it as the `error` of the `tool.call.completed` event, so the run goes on. Any other
    exception a tool raises still reaches the model only as the SDK's generic message.
    """
