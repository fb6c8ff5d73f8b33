"""Event → frame encoders. An encoder returns None for events its format does not show.

An encoder may return several frames for one event (a list), and may keep state across the
events of a connection: `new_encoder` makes a fresh one per connection or run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from agents_app.protocol.events import (
    AgentSwitched,
    ApprovalRequested,
    Error,
    Event,
    GuardrailTripped,
    MessageCompleted,
    MessageRetracted,
    ModelInfo,
    RunCancelled,
    RunCompleted,
    RunEvent,
    RunFailed,
    RunInterrupted,
    TextDelta,
    ToolCallCompleted,
    ToolCallStarted,
)
from agents_app.secrets import SECRETS, Secrets

Frames = str | list[str] | None
E = TypeVar("E", bound=Event)
Encoder = Callable[[Event], Frames]
FormatName = Literal["json", "text", "pretty", "ag-ui"]


def encode_json(event: Event) -> str:
    return event.model_dump_json()


def encode_text(event: Event) -> str | None:
    """Seed-compatible: the raw text as it streams, nothing else but failures."""
    if isinstance(event, TextDelta):
        return event.delta
    if isinstance(event, RunFailed | Error):
        return f"\n[error: {event.message}]\n"
    if isinstance(event, MessageRetracted):
        return "\n[the text above was withdrawn]\n"
    return None


def encode_pretty(event: Event) -> str | None:
    """For a terminal: the text streams live, with the run's structure shown around it."""
    match event:
        case TextDelta():
            return event.delta
        case MessageCompleted():
            return "\n"
        case AgentSwitched():
            return f"→ {event.from_agent} hands off to {event.to_agent}\n"
        case GuardrailTripped():
            return f"⛔ {event.guardrail} ({event.stage} of {event.agent}): {event.message}\n"
        case MessageRetracted():
            return "\n↺ the text above was withdrawn\n"
        case ToolCallStarted():
            where = f" [mcp: {event.server}]" if event.server else ""
            return f"⚙ {event.tool}({_args(event.arguments)}){where}\n"
        case ToolCallCompleted():
            result = f"error: {event.error}" if event.error else event.output
            return f"  ↳ {result} ({event.duration_ms} ms)\n"
        case RunCompleted():
            u = event.usage
            tokens = (
                "tokens unknown"
                if u.input_tokens is None or u.output_tokens is None
                else f"{u.input_tokens}+{u.output_tokens} tokens"
            )
            return f"✓ {event.agent} · {u.requests} requests · {tokens} · {event.duration_ms} ms\n"
        case RunFailed():
            return f"✗ {event.code}: {event.message}\n"
        case RunCancelled():
            return f"✗ cancelled: {event.reason}\n"
        case ApprovalRequested():
            return f"? {event.agent} wants to run {event.tool}({_args(event.arguments)})\n"
        case RunInterrupted():
            return f"⏸ waiting for approval of {', '.join(event.pending)} (run.resume)\n"
        case Error():
            return f"✗ {event.code}: {event.message}\n"
    return None


def _args(arguments: dict[str, object]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in arguments.items())


ENCODERS: dict[str, Encoder] = {"json": encode_json, "text": encode_text, "pretty": encode_pretty}


def new_encoder(fmt: str, *, model: ModelInfo | None = None) -> Encoder:
    """A fresh encoder for `fmt` (a FormatName); `model` names the backend in AG-UI usage."""
    if fmt == "ag-ui":
        # Imported here: only connections that ask for AG-UI pay for its models.
        from agents_app.protocol.agui import AgUiEncoder

        return scrubbing(AgUiEncoder(model=model))
    return scrubbing(ENCODERS[fmt])


def scrubbing(encoder: Encoder, secrets: Secrets = SECRETS) -> Encoder:
    """`encoder`, fed events with every known secret taken out of their text.

    The last point every event passes on its way to any client: whatever text an event
    picked up on the way (a server's error quoting a key, a URL with a password) stops here.
    Field values are scrubbed, not the encoded frame, so no secret can cut into the JSON
    structure, and escaping does not hide one.
    """

    return _Scrubbing(encoder, secrets)


class _Scrubbing:
    def __init__(self, encoder: Encoder, secrets: Secrets) -> None:
        self._encoder = encoder
        self._secrets = secrets

    def __call__(self, event: Event) -> Frames:
        return self._encoder(scrub_event(event, self._secrets))

    def prime(self, events: Sequence[RunEvent]) -> None:
        """A stateful encoder (AG-UI) learns a rejoined run's earlier events."""
        prime = getattr(self._encoder, "prime", None)
        if callable(prime):
            prime(events)


def scrub_event(event: E, secrets: Secrets = SECRETS) -> E:
    if not secrets:
        return event  # nothing to look for: the per-delta path pays nothing
    changes = {}
    for name in type(event).model_fields:
        if name == "type":
            continue
        value = getattr(event, name)
        clean = _scrub_value(value, secrets)
        if clean is not value:
            changes[name] = clean
    # A copy, and only when needed: the caller's event (and the common case) stays as is.
    return event.model_copy(update=changes) if changes else event


def _scrub_value(value: Any, secrets: Secrets) -> Any:
    """`value` itself when it holds no secret, else a scrubbed copy."""
    if isinstance(value, str):
        clean = secrets.scrub(value)
        return value if clean == value else clean
    if isinstance(value, dict):
        items = {k: _scrub_value(v, secrets) for k, v in value.items()}
        return value if all(items[k] is v for k, v in value.items()) else items
    if isinstance(value, list):
        scrubbed = [_scrub_value(v, secrets) for v in value]
        return value if all(a is b for a, b in zip(scrubbed, value, strict=True)) else scrubbed
    return value
