"""One turn's guard: the gate, the early cut of a parallel input trip, and the events a
trip or a broken check ends the run with."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agents import Agent
from agents.exceptions import (
    InputGuardrailTripwireTriggered,
    OutputGuardrailTripwireTriggered,
    ToolInputGuardrailTripwireTriggered,
    ToolOutputGuardrailTripwireTriggered,
)
from agents.result import RunResultStreaming

from agents_app.guardrails.gate import Gate
from agents_app.guardrails.sdk import Guardrails
from agents_app.guardrails.verdicts import Trip, unavailable_in
from agents_app.protocol.events import GuardrailTripped, RunEvent, RunIds
from agents_app.stream.failures import Failure

AgentIdOf = Callable[[Agent[Any]], str]


class TurnGuard:
    """Sits between the translator and the run log for one turn."""

    def __init__(
        self, ids: RunIds, guardrails: Guardrails, *, start: str, agent_id_of: AgentIdOf
    ) -> None:
        self._ids = ids
        self._agent_id_of = agent_id_of
        self._awaited = guardrails.held_inputs(start)
        self._gate = Gate(
            ids, hold_input=bool(self._awaited), buffers_output=guardrails.buffers_output
        )

    def passing(self, events: Iterable[RunEvent], result: RunResultStreaming) -> list[RunEvent]:
        """What of `events` clients may see now; raises the SDK's own tripwire exception as
        soon as a parallel input guardrail has tripped.

        The streamed SDK run lets the model finish its whole answer before it raises a
        parallel input trip; cutting it here saves the tokens and the wait.
        """
        out = self._gate.passing(events)
        if not self._awaited and not result.input_guardrail_results:
            return out  # the common case, on every streamed word: nothing to watch for
        passed: set[str] = set()
        for verdict in result.input_guardrail_results:
            if verdict.output.tripwire_triggered:
                raise InputGuardrailTripwireTriggered(verdict)
            passed.add(verdict.guardrail.get_name())
        if self._awaited and self._awaited <= passed:
            out.extend(self._gate.inputs_passed())
        return out

    def finish(self) -> list[RunEvent]:
        return self._gate.finish()

    def gated(self, events: Iterable[RunEvent]) -> list[RunEvent]:
        """What of `events` clients may see, the run having failed already (no trip check)."""
        return self._gate.passing(events)

    def failed(self, exc: BaseException) -> tuple[list[RunEvent], Failure] | None:
        """The events and failure a guardrail exception ends the run with; None for others."""
        trip = _trip_of(exc)
        if trip is not None:
            tripped = GuardrailTripped(
                **self._ids,
                guardrail=trip.guardrail,
                stage=trip.stage,
                agent=self._agent_id_of(trip.agent),
                message=trip.message,
            )
            return [tripped, *self._gate.withdraw(trip.stage)], Failure("guardrail", trip.message)
        broken = unavailable_in(exc)
        if broken is not None:
            # Fail closed, and say so: a client can tell "blocked" (a trip, not retryable)
            # from "the check is down" (no trip, retryable; clients say "try again" from it).
            message = (
                f"The {broken.guardrail!r} safety check could not run, so this request was stopped."
            )
            return self._gate.withdraw(broken.stage), Failure("guardrail", message, True)
        return None


def _trip_of(exc: BaseException) -> Trip | None:
    info: Any = None
    if isinstance(exc, InputGuardrailTripwireTriggered | OutputGuardrailTripwireTriggered):
        info = exc.guardrail_result.output.output_info
    elif isinstance(
        exc, ToolInputGuardrailTripwireTriggered | ToolOutputGuardrailTripwireTriggered
    ):
        info = exc.output.output_info
    return info if isinstance(info, Trip) else None
