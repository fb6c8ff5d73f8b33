"""The script language of the scripted OpenAI server: one step answers one HTTP request."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias


def split_words(text: str) -> tuple[str, ...]:
    """Cut text into word-sized deltas that join back to exactly `text`.

    Leading whitespace stays with the word (" world"), the way real tokenizers emit it.
    """
    pieces = re.findall(r"\s*\S+", text)
    tail = text[len("".join(pieces)) :]
    if tail:
        pieces = [*pieces[:-1], pieces[-1] + tail] if pieces else [tail]
    return tuple(pieces)


def split_fragments(text: str, count: int) -> tuple[str, ...]:
    """Cut text into at most `count` contiguous, non-empty, roughly equal fragments."""
    if not text:
        return ()
    size = -(-len(text) // count)  # ceil: never more than `count` pieces
    return tuple(text[i : i + size] for i in range(0, len(text), size))


@dataclass(frozen=True)
class Text:
    """An assistant text message. `chunks` are the deltas; by default word-sized pieces."""

    text: str
    chunks: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if self.chunks is not None and "".join(self.chunks) != self.text:
            raise ValueError(f"Text chunks {list(self.chunks)!r} do not join to {self.text!r}")

    @property
    def deltas(self) -> tuple[str, ...]:
        return tuple(self.chunks) if self.chunks is not None else split_words(self.text)


@dataclass(frozen=True)
class ToolCall:
    """A function call; `arguments` (raw JSON text, not checked) streams in `chunks` fragments."""

    name: str
    arguments: str = "{}"
    call_id: str | None = None
    chunks: int = 2

    def __post_init__(self) -> None:
        if self.chunks < 1:
            raise ValueError("ToolCall.chunks must be >= 1")

    @property
    def fragments(self) -> tuple[str, ...]:
        return split_fragments(self.arguments, self.chunks)


Item: TypeAlias = Text | ToolCall


@dataclass(frozen=True)
class Reply:
    """A successful model response. `usage` is (input_tokens, output_tokens)."""

    items: Sequence[Item]
    usage: tuple[int, int] = (10, 5)
    delay_s: float = 0.0  # pause between streamed events, for latency/coalescing tests
    # Fields the request body must carry with exactly these values (e.g. a saved `prompt`);
    # a request without them gets a 400 and the test fails at `check()`.
    expect: Mapping[str, Any] = field(default_factory=dict)


# What BreakStream/Malformed stream before misbehaving, unless a test says otherwise.
_PARTIAL_REPLY = Reply([Text("partial reply that never finishes")])


@dataclass(frozen=True)
class Fail:
    """An HTTP error with an OpenAI-shaped body (built from the status unless `body` is given)."""

    status: int
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Stall:
    """Read the request, then send nothing (not even headers) for `seconds`.

    Meant for client read timeouts. If the client is still waiting afterwards it gets a 504,
    so a test with a too-generous timeout fails instead of hanging.
    """

    seconds: float


@dataclass(frozen=True)
class BreakStream:
    """Send the first `after_events` events of `reply`, then drop the TCP connection.

    A non-streaming request gets 200 headers and half the JSON body, then the drop.
    """

    after_events: int
    reply: Reply = _PARTIAL_REPLY


@dataclass(frozen=True)
class Malformed:
    """Send `after_events` good events of `reply`, then `raw` as an SSE data line, then end.

    A non-streaming request gets `raw` as its whole 200 body.
    """

    raw: str
    after_events: int = 0
    reply: Reply = _PARTIAL_REPLY


Action: TypeAlias = Reply | Fail | Stall | BreakStream | Malformed
Step: TypeAlias = Action | Text | ToolCall


def as_action(step: Step) -> Action:
    """A bare Text or ToolCall step is shorthand for a Reply holding just that item."""
    return Reply([step]) if isinstance(step, Text | ToolCall) else step
