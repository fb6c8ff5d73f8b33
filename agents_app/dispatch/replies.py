"""What the dispatcher answers a frame with, and the fixed words of its refusals.

One place for them, so the local WebSocket, the Cloud Function and `POST /ag-ui` say the
same thing in the same words.
"""

from __future__ import annotations

import asyncio
import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agents_app.protocol.events import Error, ErrorCode

if TYPE_CHECKING:
    from agents_app.runs.registry import Run

BUSY = "A run is in progress in this conversation; wait for it, join it (run.join) or cancel it."
RATE_LIMITED = "Too many messages; slow down a little."
TOO_MANY_CONVERSATIONS = "Too many conversations on one connection."
NO_RUN_TO_CANCEL = "No run to cancel."
QUEUE_FULL = (
    "Too many messages are waiting in this conversation; wait for the answers, or cancel one."
)
STORE_DOWN = "Conversation memory is unavailable right now; please try again shortly."
APPROVAL_PENDING = (
    "This conversation waits for a decision on run {run_id}'s tool calls; answer it with "
    "run.resume first."
)
NOT_PAUSED = "No run {run_id!r} waits for approval (unknown, already resumed, or expired)."
CONFIG_CHANGED = (
    "The agents' configuration changed since run {run_id} paused, so it cannot go on "
    "safely; send your message again."
)
INTERNAL = "Something went wrong on our side; please try again."
LOST_TRACK = "The run can no longer be followed (its log expired or is unreachable); join again."


@dataclass
class Reply:
    """What a frame led to: an error, or a run started or joined (and being followed)."""

    error: Error | None = None
    run: Run | None = None  # started here, by this frame
    follow: asyncio.Task[bool] | None = None

    @property
    def code(self) -> ErrorCode | None:
        return None if self.error is None else self.error.code


def error_reply(code: ErrorCode, message: str) -> Reply:
    return Reply(error=Error(code=code, message=message))


def unknown_agent(agent: str, known: list[str]) -> str:
    hint = difflib.get_close_matches(agent, known, n=1)
    suffix = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"Unknown agent {agent!r}{suffix}."
