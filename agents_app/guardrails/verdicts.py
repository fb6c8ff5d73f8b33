"""What a guardrail check decides, and what a trip tells the run that it stopped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents_app.protocol.events import GuardrailStage


@dataclass(frozen=True)
class Verdict:
    """A check's answer. `reason` is for the log (a judge's may quote the user)."""

    tripped: bool
    reason: str = ""


PASS = Verdict(tripped=False)


@dataclass(frozen=True)
class Trip:
    """A guardrail that fired: the SDK carries it as the guardrail's `output_info`."""

    guardrail: str
    stage: GuardrailStage
    agent: Any  # the SDK Agent whose text was checked; mapped to its id by the run's graph
    message: str  # for users
    reason: str  # for the log


class GuardrailUnavailable(Exception):
    """A check could not give a verdict (its judge failed or ran out of time).

    Raised instead of passing: a guardrail that cannot run must not let text through.
    """

    def __init__(self, guardrail: str, stage: GuardrailStage, why: str) -> None:
        super().__init__(f"guardrail {guardrail!r} ({stage}) could not run: {why}")
        self.guardrail = guardrail
        self.stage = stage
        self.why = why


def unavailable_in(exc: BaseException | None) -> GuardrailUnavailable | None:
    """The `GuardrailUnavailable` behind `exc`: the SDK wraps a tool guardrail's exceptions
    in its own `UserError`, so the cause chain is followed."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, GuardrailUnavailable):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
