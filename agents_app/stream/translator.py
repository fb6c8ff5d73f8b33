"""SDK stream events → protocol events. Knows agents; knows nothing of transports."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from uuid import uuid4

from agents import Agent, AgentUpdatedStreamEvent, Handoff, RawResponsesStreamEvent, StreamEvent
from agents.items import ToolCallOutputItem
from agents.stream_events import RunItemStreamEvent
from openai.types.responses import (
    ResponseCreatedEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseTextDeltaEvent,
)

from agents_app.guardrails.verdicts import Trip
from agents_app.protocol.events import (
    AgentSwitched,
    GuardrailTripped,
    MessageCompleted,
    MessageStarted,
    RunEvent,
    RunIds,
    TextDelta,
    ToolCallCompleted,
    ToolCallStarted,
)

AgentIdOf = Callable[[Agent[Any]], str]
# The MCP server a tool of an agent (by id) comes from (None: one of the service's own tools).
ServerOf = Callable[[str, str], str | None]


class _OpenCall:
    __slots__ = ("agent", "server", "started", "tool")

    def __init__(self, agent: str, tool: str, server: str | None = None) -> None:
        self.agent, self.tool, self.server = agent, tool, server
        self.started = time.monotonic()


class Translator:
    """Turns one run's SDK events into protocol events, in order.

    Messages are keyed by output index within the current model response, not by the
    provider's item id: Chat Completions streams carry placeholder ids (`__fake_id__`).

    Text is held while it keeps coming: consecutive deltas of one message become one
    `text.delta` when something else comes or the caller calls `flush` (when no more SDK
    events are ready). A model streaming faster than the loop turns sends hundreds of word
    deltas in a burst; each would have been an event through every layer to the run log,
    which merges them anyway.
    """

    def __init__(
        self,
        *,
        run_id: str,
        conversation_id: str,
        agent: Agent[Any],
        agent_id_of: AgentIdOf,
        tool_errors: Mapping[str, str],
        output_limit: int,
        tool_trips: Mapping[str, Trip] | None = None,
        server_of: ServerOf | None = None,
    ) -> None:
        self._ids = RunIds(run_id=run_id, conversation_id=conversation_id)
        self._agent = agent
        self._agent_id_of = agent_id_of
        self._agent_id = agent_id_of(agent)  # looked up once per agent, not once per delta
        self._tool_errors = tool_errors
        self._tool_trips: Mapping[str, Trip] = tool_trips if tool_trips is not None else {}
        self._output_limit = output_limit
        self._server_of = server_of
        self._messages: dict[int, str] = {}  # output_index → message_id (current response)
        self._calls: dict[str, _OpenCall] = {}
        self._text: list[str] = []  # held text, all of one message
        self._text_message = ""

    def expect_call(self, call_id: str, agent: str, tool: str) -> None:
        """A call announced by an earlier run (paused for approval) whose output comes now."""
        self._calls[call_id] = _OpenCall(agent, tool)

    @property
    def agent_id(self) -> str:
        return self._agent_id

    def translate(self, event: StreamEvent) -> list[RunEvent]:
        if isinstance(event, RawResponsesStreamEvent) and isinstance(
            event.data, ResponseTextDeltaEvent
        ):
            return self._delta(event.data)
        held = self.flush()  # anything else comes after the text before it
        events: list[RunEvent] = []
        if isinstance(event, RawResponsesStreamEvent):
            events = self._raw(event.data)
        elif isinstance(event, AgentUpdatedStreamEvent):
            events = self._switch(event.new_agent)
        elif isinstance(event, RunItemStreamEvent) and isinstance(event.item, ToolCallOutputItem):
            events = self._tool_output(event.item)
        return held + events if held else events

    def flush(self) -> list[RunEvent]:
        """The text held so far, as one delta (none if nothing is held)."""
        if not self._text:
            return []
        text, self._text = "".join(self._text), []
        return [
            TextDelta(**self._ids, message_id=self._text_message, agent=self._agent_id, delta=text)
        ]

    def _delta(self, data: ResponseTextDeltaEvent) -> list[RunEvent]:
        if not data.delta:
            return []
        message_id = self._messages.get(data.output_index)
        if self._text and message_id == self._text_message:
            self._text.append(data.delta)
            return []
        events = self.flush()
        if message_id is None:
            message_id = self._open_message(data.output_index, events)
        self._text, self._text_message = [data.delta], message_id
        return events

    def _raw(self, data: Any) -> list[RunEvent]:
        if isinstance(data, ResponseOutputItemDoneEvent):
            item = data.item
            if isinstance(item, ResponseOutputMessage):
                return self._message_done(data.output_index, item)
            if isinstance(item, ResponseFunctionToolCall):
                return self._call_started(item)
            return []
        if isinstance(data, ResponseCreatedEvent):
            self._messages.clear()
        return []

    def _open_message(self, output_index: int, into: list[RunEvent]) -> str:
        message_id = f"msg_{uuid4().hex[:16]}"
        self._messages[output_index] = message_id
        into.append(MessageStarted(**self._ids, message_id=message_id, agent=self.agent_id))
        return message_id

    def _message_done(self, output_index: int, item: ResponseOutputMessage) -> list[RunEvent]:
        text = "".join(part.text for part in item.content if part.type == "output_text")
        events: list[RunEvent] = []
        message_id = self._messages.pop(output_index, None)
        if message_id is None:
            if not text:
                return []
            # A provider that sent the message whole, without deltas.
            message_id = self._open_message(output_index, events)
            self._messages.pop(output_index)
            events.append(
                TextDelta(**self._ids, message_id=message_id, agent=self.agent_id, delta=text)
            )
        events.append(
            MessageCompleted(**self._ids, message_id=message_id, agent=self.agent_id, text=text)
        )
        return events

    def _call_started(self, item: ResponseFunctionToolCall) -> list[RunEvent]:
        if item.name in _handoff_tool_names(self._agent):
            return []  # shown as agent.switched once the SDK performs it
        server = self._server_of(self.agent_id, item.name) if self._server_of else None
        self._calls[item.call_id] = _OpenCall(self.agent_id, item.name, server)
        return [
            ToolCallStarted(
                **self._ids,
                call_id=item.call_id,
                agent=self.agent_id,
                tool=item.name,
                arguments=_parse_arguments(item.arguments),
                server=server,
            )
        ]

    def _tool_output(self, item: ToolCallOutputItem) -> list[RunEvent]:
        raw = item.raw_item
        call_id = raw.get("call_id") if isinstance(raw, dict) else getattr(raw, "call_id", None)
        if not isinstance(call_id, str):
            return []
        call = self._calls.pop(call_id, None)
        if call is None:
            return []  # a handoff's output, or a call we never announced
        output = item.output if isinstance(item.output, str) else _to_text(item.output)
        server = call.server
        if server is None and self._server_of is not None:
            # A call announced by the paused run: its server is known once tools are listed.
            server = self._server_of(call.agent, call.tool)
        truncated = len(output) > self._output_limit
        trip = self._tool_trips.get(call_id)
        # A guardrail that rejected the call's content: said first, then the call's result.
        tripped = [] if trip is None else [self._tripped(trip)]
        return [
            *tripped,
            ToolCallCompleted(
                **self._ids,
                call_id=call_id,
                agent=call.agent,
                tool=call.tool,
                output=output[: self._output_limit] if truncated else output,
                truncated=truncated,
                error=self._tool_errors.get(call_id),
                duration_ms=round((time.monotonic() - call.started) * 1000),
                server=server,
            ),
        ]

    def _tripped(self, trip: Trip) -> GuardrailTripped:
        return GuardrailTripped(
            **self._ids,
            guardrail=trip.guardrail,
            stage=trip.stage,
            agent=self._agent_id_of(trip.agent),
            message=trip.message,
        )

    def _switch(self, new_agent: Agent[Any]) -> list[RunEvent]:
        if new_agent is self._agent:
            return []  # the SDK announces the starting agent too
        previous, self._agent = self._agent, new_agent
        self._agent_id = self._agent_id_of(new_agent)
        return [
            AgentSwitched(
                **self._ids,
                from_agent=self._agent_id_of(previous),
                to_agent=self._agent_id_of(new_agent),
            )
        ]


def _handoff_tool_names(agent: Agent[Any]) -> set[str]:
    return {
        h.tool_name if isinstance(h, Handoff) else Handoff.default_tool_name(h)
        for h in agent.handoffs
    }


def _parse_arguments(raw: str) -> dict[str, Any]:
    try:
        parsed = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {"_raw": raw}
    return parsed if isinstance(parsed, dict) else {"_value": parsed}


def _to_text(value: Any) -> str:
    # MCP tools answer with content blocks ({"type": "text", "text": …}, possibly several):
    # clients get the text, as for any other tool; other blocks (images) stay JSON.
    blocks = value if isinstance(value, list) else [value]
    texts = [_block_text(block) for block in blocks]
    if blocks and all(text is not None for text in texts):
        return "\n".join(text for text in texts if text is not None)
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def _block_text(block: Any) -> str | None:
    data = block.model_dump() if hasattr(block, "model_dump") else block
    if isinstance(data, dict) and data.get("type") == "text" and isinstance(data.get("text"), str):
        return str(data["text"])
    return None
