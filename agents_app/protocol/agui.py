"""Protocol events → AG-UI events (the `ag-ui` output format), built with ag-ui-protocol's models.

AG-UI wants what our protocol leaves implicit: a step per speaking agent, and every message and
step closed before the run ends. So this encoder keeps per-run state and one of our events may
become several AG-UI events: make a fresh encoder per connection (or per HTTP run).

Mapping (threadId = conversation_id, runId = run_id, messageId and toolCallId are ours):
run.started → RUN_STARTED + STEP_STARTED(agent); agent.switched → STEP_FINISHED(from) +
STEP_STARTED(to) + CUSTOM "agent.switched"; message.* / text.delta → TEXT_MESSAGE_*;
tool.call.started → TOOL_CALL_START/ARGS/END (our arguments are complete when announced);
tool.call.completed → TOOL_CALL_RESULT (error, duration and truncation in `metadata`);
run.completed → RUN_FINISHED (usage in `result` and as AG-UI `usage`, unknown counts absent);
run.failed → RUN_ERROR;
run.cancelled → RUN_FINISHED with the `cancelled` outcome; guardrail.tripped → CUSTOM
"guardrail.tripped" (the run.failed that follows is the RUN_ERROR); message.retracted → CUSTOM
"message.retracted" (AG-UI cannot take text back; a client drops that messageId), closing the
message first if it is still open. Connection events (session.ready,
error, pong) have no AG-UI counterpart and travel as CUSTOM events named by their type.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import Any

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    Interrupt,
    RunErrorEvent,
    RunFinishedCancelledOutcome,
    RunFinishedEvent,
    RunFinishedInterruptOutcome,
    RunStartedEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    TokenUsage,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)
from ag_ui.encoder import EventEncoder

from agents_app.protocol.events import (
    AgentSwitched,
    ApprovalRequested,
    Event,
    GuardrailTripped,
    MessageCompleted,
    MessageRetracted,
    MessageStarted,
    ModelInfo,
    RunCancelled,
    RunCompleted,
    RunEvent,
    RunFailed,
    RunInterrupted,
    RunStarted,
    TextDelta,
    ToolCallCompleted,
    ToolCallStarted,
    now_ms,
)


class AgUiEncoder:
    """Stateful `Encoder`: returns the AG-UI frames for one of our events (or None).

    `sse=True` frames each event as a Server-Sent Event (AG-UI's `EventEncoder`); otherwise
    each frame is the bare JSON object, one per WebSocket message.
    """

    def __init__(self, *, model: ModelInfo | None = None, sse: bool = False) -> None:
        self._model = model
        self._sse = EventEncoder() if sse else None
        self._step: str | None = None
        self._open_messages: list[str] = []
        self._approvals: dict[str, ApprovalRequested] = {}

    def __call__(self, event: Event) -> list[str] | None:
        out = self.translate(event)
        if not out:
            return None
        if self._sse is None:
            return [e.model_dump_json(by_alias=True) for e in out]
        frames = [self._sse.encode(e) for e in out]
        if isinstance(event, RunEvent):
            # The id goes on the last frame of the event's group: a client that reconnects
            # with Last-Event-ID has every AG-UI event of that seq and none of the next.
            frames[-1] = f"id: {event.seq}\n{frames[-1]}"
        return frames

    def prime(self, events: Sequence[RunEvent]) -> None:
        """Learn the state of a run whose earlier events the client already has (a rejoin)."""
        for event in events:
            self.translate(event)

    def translate(self, event: Event) -> list[BaseEvent]:
        ts = event.ts if isinstance(event, RunEvent) else now_ms()
        match event:
            case RunStarted():
                self._step, self._open_messages = None, []
                return [
                    RunStartedEvent(
                        thread_id=event.conversation_id, run_id=event.run_id, timestamp=ts
                    ),
                    *self._start_step(event.agent, ts),
                ]
            case AgentSwitched():
                return [
                    *self._finish_step(ts),
                    *self._start_step(event.to_agent, ts),
                    CustomEvent(
                        name="agent.switched",
                        value={"from_agent": event.from_agent, "to_agent": event.to_agent},
                        timestamp=ts,
                    ),
                ]
            case MessageStarted():
                return self._open_message(event.message_id, event.agent, ts)
            case TextDelta():
                opening = (
                    self._open_message(event.message_id, event.agent, ts)
                    if event.message_id not in self._open_messages
                    else []
                )
                content = TextMessageContentEvent(
                    message_id=event.message_id, delta=event.delta, timestamp=ts
                )
                return [*opening, content]
            case MessageCompleted():
                if event.message_id not in self._open_messages:
                    return []
                self._open_messages.remove(event.message_id)
                return [TextMessageEndEvent(message_id=event.message_id, timestamp=ts)]
            case ToolCallStarted():
                return [
                    ToolCallStartEvent(
                        tool_call_id=event.call_id,
                        tool_call_name=event.tool,
                        timestamp=ts,
                        metadata={"agent": event.agent},
                    ),
                    ToolCallArgsEvent(
                        tool_call_id=event.call_id,
                        delta=json.dumps(event.arguments, ensure_ascii=False),
                        timestamp=ts,
                    ),
                    ToolCallEndEvent(tool_call_id=event.call_id, timestamp=ts),
                ]
            case ToolCallCompleted():
                return [self._tool_result(event, ts)]
            case RunCompleted():
                return [*self._close_all(ts), self._finished(event, ts)]
            case RunFailed():
                error = RunErrorEvent(
                    message=event.message,
                    code=event.code,
                    timestamp=ts,
                    metadata={"retryable": event.retryable},
                )
                return [*self._close_all(ts), error]
            case GuardrailTripped():
                return [self._custom(event, ts)]
            case MessageRetracted():
                still_open = event.message_id in self._open_messages
                if still_open:
                    self._open_messages.remove(event.message_id)
                ended = [TextMessageEndEvent(message_id=event.message_id, timestamp=ts)]
                return [*(ended if still_open else []), self._custom(event, ts)]
            case ApprovalRequested():
                self._approvals[event.call_id] = event
                return [
                    CustomEvent(
                        name="approval.requested",
                        value=event.model_dump(mode="json", exclude={"type"}),
                        timestamp=ts,
                    )
                ]
            case RunInterrupted():
                asked = [self._approvals.pop(c, None) for c in event.pending]
                interrupted = RunFinishedEvent(
                    thread_id=event.conversation_id,
                    run_id=event.run_id,
                    outcome=RunFinishedInterruptOutcome(
                        interrupts=[
                            Interrupt(
                                id=call_id,
                                reason="tool_call",
                                tool_call_id=call_id,
                                message=f"{a.agent} wants to run {a.tool}" if a else None,
                                expires_at=_iso(a.expires_at) if a else None,
                                metadata={"tool": a.tool, "arguments": a.arguments} if a else None,
                            )
                            for call_id, a in zip(event.pending, asked, strict=True)
                        ]
                    ),
                    timestamp=ts,
                )
                return [*self._close_all(ts), interrupted]
            case RunCancelled():
                cancelled = RunFinishedEvent(
                    thread_id=event.conversation_id,
                    run_id=event.run_id,
                    outcome=RunFinishedCancelledOutcome(),
                    timestamp=ts,
                    metadata={"reason": event.reason},
                )
                return [*self._close_all(ts), cancelled]
        # Connection events: no AG-UI equivalent, so they travel as CUSTOM events.
        payload: dict[str, Any] = event.model_dump(mode="json")
        name = str(payload.pop("type"))
        return [CustomEvent(name=name, value=payload, timestamp=ts)]

    def _custom(self, event: GuardrailTripped | MessageRetracted, ts: int) -> CustomEvent:
        """The event's own fields as a CUSTOM event named by its type (ids are the run's)."""
        value = event.model_dump(
            mode="json", exclude={"type", "run_id", "conversation_id", "seq", "ts"}
        )
        return CustomEvent(name=event.type, value=value, timestamp=ts)

    def _start_step(self, agent: str, ts: int) -> list[BaseEvent]:
        self._step = agent
        return [StepStartedEvent(step_name=agent, timestamp=ts)]

    def _finish_step(self, ts: int) -> list[BaseEvent]:
        if self._step is None:
            return []
        step, self._step = self._step, None
        return [StepFinishedEvent(step_name=step, timestamp=ts)]

    def _open_message(self, message_id: str, agent: str, ts: int) -> list[BaseEvent]:
        self._open_messages.append(message_id)
        return [
            TextMessageStartEvent(message_id=message_id, role="assistant", name=agent, timestamp=ts)
        ]

    def _close_all(self, ts: int) -> list[BaseEvent]:
        """AG-UI clients reject a run that ends with a message or step still open."""
        ends: list[BaseEvent] = [
            TextMessageEndEvent(message_id=m, timestamp=ts) for m in self._open_messages
        ]
        self._open_messages = []
        return [*ends, *self._finish_step(ts)]

    def _tool_result(self, event: ToolCallCompleted, ts: int) -> ToolCallResultEvent:
        return ToolCallResultEvent(
            message_id=f"{event.call_id}:result",
            tool_call_id=event.call_id,
            content=event.output,
            role="tool",
            timestamp=ts,
            metadata={
                "agent": event.agent,
                "tool": event.tool,
                "error": event.error,
                "duration_ms": event.duration_ms,
                "truncated": event.truncated,
            },
        )

    def _finished(self, event: RunCompleted, ts: int) -> RunFinishedEvent:
        usage = event.usage
        return RunFinishedEvent(
            thread_id=event.conversation_id,
            run_id=event.run_id,
            timestamp=ts,
            result={
                "final_output": event.final_output,
                "agent": event.agent,
                "usage": usage.model_dump(),
                "duration_ms": event.duration_ms,
            },
            usage=[
                TokenUsage(
                    provider=self._model.provider if self._model else None,
                    model=self._model.name if self._model else None,
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    total_tokens=usage.total_tokens,
                )
            ],
        )


def _iso(unix_ms: int) -> str:
    return datetime.datetime.fromtimestamp(unix_ms / 1000, datetime.UTC).isoformat()
