"""Event → frame encoders. An encoder returns None for events its format does not show.

An encoder may return several frames for one event (a list), and may keep state across the
events of a connection: `new_encoder` makes a fresh one per connection or run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from agents_app.protocol.events import (
    AgentSwitched,
    Error,
    Event,
    MessageCompleted,
    ModelInfo,
    RunCancelled,
    RunCompleted,
    RunFailed,
    TextDelta,
    ToolCallCompleted,
    ToolCallStarted,
)

Frames = str | list[str] | None
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
        case ToolCallStarted():
            return f"⚙ {event.tool}({_args(event.arguments)})\n"
        case ToolCallCompleted():
            result = f"error: {event.error}" if event.error else event.output
            return f"  ↳ {result} ({event.duration_ms} ms)\n"
        case RunCompleted():
            u = event.usage
            return (
                f"✓ {event.agent} · {u.requests} requests · {u.input_tokens}+{u.output_tokens}"
                f" tokens · {event.duration_ms} ms\n"
            )
        case RunFailed():
            return f"✗ {event.code}: {event.message}\n"
        case RunCancelled():
            return f"✗ cancelled: {event.reason}\n"
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

        return AgUiEncoder(model=model)
    return ENCODERS[fmt]
