"""Pausing a run for approval and going on from it, with openai-agents' own `RunState`.

The SDK's state is serialized into a record kept in the conversation store — never sent to a
client, never read from one (its own docstring forbids loading client-supplied state) — with
the calls that wait, when the wait ends, and a fingerprint of the config it was made with, so a
changed agents.yaml cannot silently resume into a different graph.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from agents import RunContextWrapper, RunState
from agents.items import ToolApprovalItem
from agents.result import RunResultStreaming

from agents_app.graph import Graph

REJECTED = "The person reviewing this call said no."


@dataclass(frozen=True)
class PendingCall:
    call_id: str
    agent: str
    tool: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Verdict:
    approve: bool
    message: str | None = None


@dataclass(frozen=True)
class Paused:
    """What the store keeps of a run that waits for approval."""

    run_id: str
    conversation_id: str
    config: str  # the graph's fingerprint
    expires_at: int  # unix ms
    pending: list[PendingCall]
    state: dict[str, Any] = field(repr=False)

    def to_record(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_record(cls, raw: str) -> Paused:
        data = json.loads(raw)
        data["pending"] = [PendingCall(**call) for call in data["pending"]]
        return cls(**data)


@dataclass(frozen=True)
class Resumption:
    """A paused run's state and the decisions on its calls: the input of the run that goes on."""

    paused: Paused
    verdicts: dict[str, Verdict]


def pending_calls(result: RunResultStreaming, graph: Graph) -> list[PendingCall]:
    return [_pending(item, graph) for item in result.interruptions]


def snapshot(result: RunResultStreaming) -> dict[str, Any]:
    # The run context holds secrets (for scrubbing) and per-run scratch: none of it is stored;
    # a resumed run gets a fresh one. A JSON round trip also turns tuples into lists, which
    # `RunState.from_json` insists on.
    state = result.to_state().to_json(context_serializer=lambda _: {})
    loaded: dict[str, Any] = json.loads(json.dumps(state, default=str))
    return loaded


async def restore(
    resumption: Resumption, graph: Graph, context: Any
) -> tuple[RunState[Any, Any], dict[str, str]]:
    """The SDK state with every decision applied; call id → error text for the refused ones."""
    state = await RunState.from_json(
        graph.agent(None), resumption.paused.state, context_override=RunContextWrapper(context)
    )
    refused: dict[str, str] = {}
    for item in state.get_interruptions():
        call_id = _call_id(item)
        verdict = resumption.verdicts[call_id]
        if verdict.approve:
            state.approve(item)
        else:
            message = verdict.message or REJECTED
            state.reject(item, rejection_message=message)
            refused[call_id] = f"Rejected: {message}"
    return state, refused


def _pending(item: ToolApprovalItem, graph: Graph) -> PendingCall:
    raw = item.raw_item
    arguments = raw.get("arguments") if isinstance(raw, dict) else getattr(raw, "arguments", "")
    try:
        parsed = json.loads(arguments) if arguments else {}
    except ValueError:
        parsed = {"_raw": arguments}
    return PendingCall(
        call_id=_call_id(item),
        agent=graph.id_of(item.agent),
        tool=item.tool_name or "?",
        arguments=parsed if isinstance(parsed, dict) else {"_value": parsed},
    )


def _call_id(item: ToolApprovalItem) -> str:
    raw = item.raw_item
    value = raw.get("call_id") if isinstance(raw, dict) else getattr(raw, "call_id", None)
    return str(value)
