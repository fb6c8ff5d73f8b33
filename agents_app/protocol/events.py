"""Event protocol v1 (DESIGN §3, a contract): the single source of every server→client shape.

Run events are built without `seq`; the run's log stamps it once deltas that piled up are
merged, so coalesced deltas use one number, the sequence stays gap-free, and every client of
the run (live or replaying) sees the same numbers.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

PROTOCOL_VERSION: Literal[1] = 1

FailureCode = Literal[
    "model_error", "rate_limited", "max_turns", "tool_error", "timeout", "guardrail", "internal"
]
ErrorCode = Literal[
    "bad_request",
    "too_large",
    "busy",
    "rate_limited",
    "unauthorized",
    # Protocol revision 2 (DESIGN §3a).
    "not_found",
    "approval_pending",
    "unavailable",
]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunIds(TypedDict):
    run_id: str
    conversation_id: str


class RunEvent(Event):
    run_id: str
    conversation_id: str
    seq: int = 0
    ts: int = Field(default_factory=now_ms)


class Usage(BaseModel):
    """What a run's model requests cost. A token count the provider did not report is null
    (unknown), never 0: some OpenAI-compatible servers stream no usage at all."""

    requests: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None


class RunStarted(RunEvent):
    type: Literal["run.started"] = "run.started"
    agent: str
    input: str
    # Revision 2: the run this one continues after its approvals were decided.
    resumed_from: str | None = None
    # The run's OpenTelemetry trace id, when traces are exported: a support request names it.
    trace_id: str | None = None


class AgentSwitched(RunEvent):
    type: Literal["agent.switched"] = "agent.switched"
    from_agent: str
    to_agent: str


class MessageStarted(RunEvent):
    type: Literal["message.started"] = "message.started"
    message_id: str
    agent: str


class TextDelta(RunEvent):
    type: Literal["text.delta"] = "text.delta"
    message_id: str
    agent: str
    delta: str = Field(min_length=1)


class MessageCompleted(RunEvent):
    type: Literal["message.completed"] = "message.completed"
    message_id: str
    agent: str
    text: str


class ToolCallStarted(RunEvent):
    type: Literal["tool.call.started"] = "tool.call.started"
    call_id: str
    agent: str
    tool: str
    arguments: dict[str, Any]
    # Revision 2, additive: the MCP server the tool belongs to (agents.yaml name); null for
    # the service's own tools.
    server: str | None = None


class ToolCallCompleted(RunEvent):
    type: Literal["tool.call.completed"] = "tool.call.completed"
    call_id: str
    agent: str
    tool: str
    output: str
    truncated: bool = False
    error: str | None = None
    duration_ms: int
    server: str | None = None  # as on tool.call.started


class RunCompleted(RunEvent):
    type: Literal["run.completed"] = "run.completed"
    agent: str
    final_output: str
    usage: Usage
    duration_ms: int


class RunFailed(RunEvent):
    type: Literal["run.failed"] = "run.failed"
    code: FailureCode
    message: str
    retryable: bool = False


class RunCancelled(RunEvent):
    type: Literal["run.cancelled"] = "run.cancelled"
    reason: str


class ApprovalRequested(RunEvent):
    """A tool call waits for a person's yes or no (revision 2); follows its tool.call.started."""

    type: Literal["approval.requested"] = "approval.requested"
    call_id: str
    agent: str
    tool: str
    arguments: dict[str, Any]
    expires_at: int  # unix ms: answer with run.resume before then


class RunInterrupted(RunEvent):
    """The run stopped for approval (terminal, revision 2); `run.resume` continues it."""

    type: Literal["run.interrupted"] = "run.interrupted"
    pending: list[str]  # call ids


GuardrailStage = Literal["input", "output", "tool_input", "tool_output"]


class GuardrailTripped(RunEvent):
    """A guardrail fired (revision 2). The run then fails with code `guardrail`, unless a tool
    guardrail rejected the call's content: then that call's tool.call.completed carries the
    error and the run goes on."""

    type: Literal["guardrail.tripped"] = "guardrail.tripped"
    guardrail: str  # its name in agents.yaml
    stage: GuardrailStage
    agent: str  # id of the agent whose input, output or tool call was checked
    message: str  # safe for users: the guardrail's `message`, never a judge's reasoning


class MessageRetracted(RunEvent):
    """Text already streamed is withdrawn (revision 2): a guardrail tripped after it was sent."""

    type: Literal["message.retracted"] = "message.retracted"
    message_id: str


class AgentInfo(BaseModel):
    id: str
    name: str
    description: str


class ModelInfo(BaseModel):
    provider: str
    name: str


class SessionReady(Event):
    type: Literal["session.ready"] = "session.ready"
    protocol: Literal[1] = PROTOCOL_VERSION
    conversation_id: str
    agents: list[AgentInfo]
    start_agent: str
    model: ModelInfo
    # Revision 2 capabilities this server supports (`join`, …); v1 clients ignore it.
    features: list[str] = Field(default_factory=list)


class Error(Event):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str


class Pong(Event):
    type: Literal["pong"] = "pong"


class RunQueued(Event):
    """A message waits for its conversation's earlier runs (multitask `enqueue`); its run
    starts later with `run.started` seq 1. Sent again as its position moves up."""

    type: Literal["run.queued"] = "run.queued"
    run_id: str
    conversation_id: str
    position: int


TerminalEvent = RunCompleted | RunFailed | RunCancelled | RunInterrupted
TERMINAL_TYPES = frozenset({"run.completed", "run.failed", "run.cancelled", "run.interrupted"})

ServerEvent = Annotated[
    RunStarted
    | AgentSwitched
    | MessageStarted
    | TextDelta
    | MessageCompleted
    | ToolCallStarted
    | ToolCallCompleted
    | RunCompleted
    | RunFailed
    | RunCancelled
    | ApprovalRequested
    | RunInterrupted
    | GuardrailTripped
    | MessageRetracted
    | SessionReady
    | Error
    | Pong
    | RunQueued,
    Field(discriminator="type"),
]
server_event_adapter: TypeAdapter[ServerEvent] = TypeAdapter(ServerEvent)


def events_json_schema() -> dict[str, Any]:
    return server_event_adapter.json_schema(mode="serialization")
