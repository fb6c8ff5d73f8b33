"""`Turn`: what one run answers — a user's message, or the decisions on a paused run's calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import uuid4

from agents import TResponseInputItem

if TYPE_CHECKING:
    from agents_app.runs.approval import Resumption


@dataclass(frozen=True)
class Turn:
    conversation_id: str
    text: str
    agent: str | None = None  # None: the graph's start agent (or the last one, per `resume`)
    run_id: str = field(default_factory=lambda: f"run_{uuid4().hex}")
    # None: the server keeps the conversation's history (an SDK session). A tuple: the
    # client holds the thread and sends it whole each run (AG-UI), so no session is used.
    history: tuple[TResponseInputItem, ...] | None = None
    # Set when this run goes on from one that paused for approval (then `text` is empty).
    resume: Resumption | None = None
    # The client's (or gateway's) W3C trace context: the run's trace goes under it.
    traceparent: str | None = None

    @property
    def client_holds_history(self) -> bool:
        return self.history is not None

    def model_input(self) -> str | list[TResponseInputItem]:
        if not self.history:
            return self.text
        return [*self.history, {"role": "user", "content": self.text}]
