"""Exceptions from a run → `run.failed` fields. Messages are safe to show to users."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import openai
from agents.exceptions import (
    InputGuardrailTripwireTriggered,
    MaxTurnsExceeded,
    ModelBehaviorError,
    ModelRefusalError,
    ModelTimeoutError,
    OutputGuardrailTripwireTriggered,
    ToolInputGuardrailTripwireTriggered,
    ToolOutputGuardrailTripwireTriggered,
    ToolTimeoutError,
)

from agents_app.protocol.events import FailureCode

GUARDRAILS = (
    InputGuardrailTripwireTriggered,
    OutputGuardrailTripwireTriggered,
    ToolInputGuardrailTripwireTriggered,
    ToolOutputGuardrailTripwireTriggered,
)


@dataclass(frozen=True)
class Failure:
    code: FailureCode
    message: str
    retryable: bool = False


MEMORY_DOWN = Failure(
    "internal", "Conversation memory is unavailable right now; please try again shortly.", True
)


def classify(exc: BaseException) -> Failure:
    # Order matters: openai's timeout error is a connection error, and both are APIErrors.
    if _is_store_error(exc):
        return MEMORY_DOWN
    if isinstance(exc, MaxTurnsExceeded):
        return Failure("max_turns", "The agents took too many turns without finishing.")
    if isinstance(exc, GUARDRAILS):
        return Failure("guardrail", "A safety check stopped this request.")
    if isinstance(exc, ToolTimeoutError):
        return Failure("tool_error", "A tool took too long to answer.", retryable=True)
    if isinstance(exc, openai.RateLimitError):
        return Failure("rate_limited", "The model provider is rate limiting us.", retryable=True)
    if isinstance(exc, openai.APITimeoutError | ModelTimeoutError | asyncio.TimeoutError):
        return Failure("timeout", "The model did not answer in time.", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return Failure("model_error", "The model provider cannot be reached.", retryable=True)
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return Failure("model_error", "The model provider refused our credentials.")
    if isinstance(exc, openai.APIStatusError):
        retryable = exc.status_code >= 500
        return Failure(
            "model_error", f"The model provider answered {exc.status_code}.", retryable=retryable
        )
    if isinstance(exc, ModelRefusalError):
        return Failure("model_error", "The model refused to answer.")
    # A JSONDecodeError escaping a run comes from the client parsing the provider's stream.
    if isinstance(exc, ModelBehaviorError | openai.APIError | json.JSONDecodeError):
        return Failure("model_error", "The model sent a response we could not use.", True)
    return Failure("internal", "Something went wrong on our side.")


def _is_store_error(exc: BaseException) -> bool:
    # The SDK's sessions raise their backend's own errors; match by origin rather than
    # importing every backend here.
    module = type(exc).__module__
    return module.startswith(("redis.", "sqlite3")) or type(exc).__name__ == "StoreUnavailable"
