"""`Client`: what the service remembers of one client between its frames."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from agents_app.access import TokenBucket
from agents_app.settings import Settings


@dataclass(eq=False)
class Client:
    id: str  # the connection id (the gateway's, or ours); the default conversation id
    rate: TokenBucket
    # The conversation this client last spoke in or joined: where run.cancel goes when it
    # follows no run (the same conversation, resumed from another connection).
    conversation: str = ""
    # Conversations are stored: bound how many one client may open.
    conversations: set[str] = field(default_factory=set)
    greeted: bool = False
    # The runs this client follows, one after another (a queued message's run comes after
    # the one before it): the task follows them all; `following_run` is the last of them,
    # `current_run` the one whose events it is getting now.
    following: asyncio.Task[bool] | None = None
    following_run: str | None = None
    current: asyncio.Task[bool] | None = None
    current_run: str | None = None
    # Set as the followed run's terminal event goes out, which may be a moment before the
    # follow task notices; a client answering it at once must not find itself busy.
    following_ended: bool = False
    started: list[str] = field(default_factory=list)  # runs it started, newest last
    traceparent: str | None = None  # W3C trace context it connected with: runs go under it
    # It asked for batch frames when it connected; None while a function instance has not
    # looked it up yet (the local server decides at accept and never needs this).
    batch: bool | None = None

    @classmethod
    def new(cls, client_id: str, settings: Settings) -> Client:
        rate = TokenBucket(settings.rate_limit_per_minute, settings.rate_limit_burst)
        return cls(id=client_id, rate=rate, conversation=client_id)

    @property
    def busy(self) -> bool:
        """Following a run that has not ended for this client yet."""
        return self.following is not None and not self.following.done() and not self.following_ended

    def note_ended(self, run_id: str) -> None:
        if run_id == self.following_run:
            self.following_ended = True
