"""Which streamed text a client may see yet, and which it must be told to forget.

Guardrails decide late: a parallel input check finishes while the model already talks, and
output checks run on the final answer after every word of it has streamed. Per guardrail
`mode`, that text is either held here until the check passes (`buffer`: a trip means it was
never sent) or sent at once and withdrawn with `message.retracted` when a check trips
(`stream`). Pure: it sees protocol events, knows no SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from agents_app.protocol.events import (
    GuardrailStage,
    MessageCompleted,
    MessageRetracted,
    MessageStarted,
    RunEvent,
    RunIds,
    TextDelta,
)

_MessageEvent = MessageStarted | TextDelta | MessageCompleted


class Gate:
    """Events of one run in, the events a client may see out, in the same order."""

    def __init__(
        self, ids: RunIds, *, hold_input: bool, buffers_output: Callable[[str], bool]
    ) -> None:
        self._ids = ids
        self._holding_input = hold_input
        self._buffers_output = buffers_output
        self._input_queue: list[RunEvent] = []  # everything, until the input checks pass
        self._answer: list[RunEvent] = []  # a buffered agent's message that may be final
        self._sent: list[str] = []  # message ids clients got, in the whole run
        self._segment: list[str] = []  # … since the last event that was not text

    def passing(self, events: Iterable[RunEvent]) -> list[RunEvent]:
        if self._holding_input:
            self._input_queue.extend(events)
            return []
        out: list[RunEvent] = []
        for event in events:
            if isinstance(event, _MessageEvent):
                if self._answer or self._buffers_output(event.agent):
                    self._answer.append(event)
                else:
                    out.append(self._send(event))
                continue
            # Anything else after a message (a tool call, a handoff…) means that message was
            # not the final answer, which is all output guardrails ever check: let it go.
            out.extend(self._send(e) for e in self._answer)
            self._answer, self._segment = [], []
            out.append(event)
        return out

    def inputs_passed(self) -> list[RunEvent]:
        """The held input checks all passed: what waited goes out (through output holding)."""
        if not self._holding_input:
            return []
        self._holding_input = False
        queued, self._input_queue = self._input_queue, []
        return self.passing(queued)

    def finish(self) -> list[RunEvent]:
        """The run completed, so every check passed: release everything still held."""
        out = self.inputs_passed()
        out.extend(self._send(e) for e in self._answer)
        self._answer = []
        return out

    def withdraw(self, stage: GuardrailStage) -> list[RunEvent]:
        """A check at `stage` tripped (or could not run): held text is dropped, and what
        clients already have of the text that check covered is retracted."""
        self._input_queue, self._answer = [], []
        if stage == "input":
            covered = self._sent  # everything was said in answer to a refused message
        elif stage == "output":
            covered = self._segment  # the final answer
        else:
            covered = []  # a tool check covers the call, not what was said before it
        retracted = [MessageRetracted(**self._ids, message_id=m) for m in covered]
        self._sent, self._segment = [], []
        return list(retracted)

    def _send(self, event: RunEvent) -> RunEvent:
        if isinstance(event, MessageStarted):
            self._sent.append(event.message_id)
            self._segment.append(event.message_id)
        return event
