"""The built-in offline model: deterministic, in-process, no network, no credentials.

It is the default backend on a fresh machine, so the whole service (handoffs, tool calls,
streaming, usage) can be demonstrated and tested without an LLM. It streams the same
Responses API events a real server sends, built from the installed `openai` pydantic models,
so it is valid by construction and cannot drift from what the SDK parses.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

from agents import Handoff, Model, ModelProvider, ModelSettings, ModelTracing, Tool, Usage
from agents.agent_output import AgentOutputSchemaBase
from agents.items import ModelResponse, TResponseInputItem, TResponseStreamEvent
from agents.tracing import generation_span, response_span
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
)
from openai.types.responses.response_prompt_param import ResponsePromptParam
from openai.types.responses.response_usage import (
    InputTokensDetails as ResponseInputTokensDetails,
)
from openai.types.responses.response_usage import (
    OutputTokensDetails as ResponseOutputTokensDetails,
)

from agents_app.models import offline_text as text
from agents_app.models.offline_judge import is_verdict_schema, verdict
from agents_app.models.offline_plan import (
    MessagePlan,
    Plan,
    ToolCallPlan,
    Turn,
    plan_response,
    read_turn,
)

OutputItem = ResponseOutputMessage | ResponseFunctionToolCall

# With no pace the generator never sleeps per word; it still hands the event loop back every
# few words so a long answer cannot starve other connections in the process, and so a
# coalescing consumer still sees the answer arrive in several pieces rather than one.
_YIELD_EVERY = 8


def _new_id(prefix: str) -> str:
    # Random, not a counter: call ids must stay unique across processes once a conversation
    # is stored and resumed, or the SDK may treat a new call as a replay of an old one.
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _output_items(plan: Plan) -> tuple[OutputItem, OutputItem]:
    """The plan as a Responses output item: the in-progress shell and the finished item."""
    if isinstance(plan, ToolCallPlan):
        call = ResponseFunctionToolCall(
            type="function_call",
            id=_new_id("fc"),
            call_id=_new_id("call"),
            name=plan.name,
            arguments="",
            status="in_progress",
        )
        return call, call.model_copy(update={"arguments": plan.arguments, "status": "completed"})
    message_id = _new_id("msg")
    shell = ResponseOutputMessage(
        type="message", id=message_id, role="assistant", status="in_progress", content=[]
    )
    done = ResponseOutputMessage(
        type="message",
        id=message_id,
        role="assistant",
        status="completed",
        content=[_output_text(plan.text)],
    )
    return shell, done


def _output_text(value: str) -> ResponseOutputText:
    return ResponseOutputText(type="output_text", text=value, annotations=[], logprobs=[])


def _usage_counts(plan: Plan, input_chars: int) -> tuple[int, int]:
    """A rough, honest estimate: ~4 characters per input token, one output token per word."""
    produced = plan.arguments if isinstance(plan, ToolCallPlan) else plan.text
    return max(1, input_chars // 4), max(1, len(text.chunks(produced)))


def _response_usage(input_tokens: int, output_tokens: int) -> ResponseUsage:
    return ResponseUsage(
        input_tokens=input_tokens,
        input_tokens_details=ResponseInputTokensDetails(cached_tokens=0, cache_write_tokens=0),
        output_tokens=output_tokens,
        output_tokens_details=ResponseOutputTokensDetails(reasoning_tokens=0),
        total_tokens=input_tokens + output_tokens,
    )


def _plan(
    system_instructions: str | None,
    input: str | list[TResponseInputItem],
    model_settings: ModelSettings,
    tools: list[Tool],
    handoffs: list[Handoff],
    output_schema: AgentOutputSchemaBase | None,
) -> tuple[Plan, Turn]:
    if is_verdict_schema(output_schema):
        # A guardrail's judge: it answers with a verdict, by its prompt's refuse list.
        turn = read_turn(system_instructions, input)
        return MessagePlan(verdict(system_instructions, turn.message)), turn
    allow_calls = model_settings.tool_choice != "none"
    return plan_response(system_instructions, input, tools, handoffs, allow_calls=allow_calls)


class OfflineModel(Model):
    """Routes by keywords, calls tools with schema-derived arguments, answers from templates;
    as a guardrail's judge, refuses by its prompt's bullet list (`offline_judge`)."""

    def __init__(self, *, pace_s: float = 0.0, name: str = "offline") -> None:
        if pace_s < 0:
            raise ValueError("pace_s must be >= 0")
        self.pace_s = pace_s
        self.name = name

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> ModelResponse:
        plan, turn = _plan(
            system_instructions, input, model_settings, tools, handoffs, output_schema
        )
        input_tokens, output_tokens = _usage_counts(plan, turn.input_chars)
        usage = Usage(
            requests=1,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
        )
        _, item = _output_items(plan)
        # A model call is a span of a traced run (a guardrail judge's call, say).
        with generation_span(model=self.name, disabled=tracing.is_disabled()) as span:
            span.span_data.usage = {"input_tokens": input_tokens, "output_tokens": output_tokens}
            if tracing.include_data():
                span.span_data.input = (
                    [{"role": "user", "content": input}] if isinstance(input, str) else list(input)
                )
                span.span_data.output = [item.model_dump()]
        return ModelResponse(output=[item], usage=usage, response_id=_new_id("resp"))

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        plan, turn = _plan(
            system_instructions, input, model_settings, tools, handoffs, output_schema
        )
        # A model call is a span of a traced run, as the SDK's own models make one.
        with response_span(disabled=tracing.is_disabled()) as span:
            if tracing.include_data():
                span.span_data.input = input
            async for event in _Stream(self, plan, turn.input_chars).events():
                if isinstance(event, ResponseCompletedEvent):
                    span.span_data.response = event.response
                yield event


class _Stream:
    """One response's event sequence; owns the gap-free `sequence_number` counter."""

    def __init__(self, model: OfflineModel, plan: Plan, input_chars: int) -> None:
        self.model = model
        self.plan = plan
        self.input_chars = input_chars
        self.seq = -1
        self.response = Response(
            id=_new_id("resp"),
            object="response",
            created_at=int(time.time()),
            model=model.name,
            status="in_progress",
            output=[],
            parallel_tool_calls=False,
            tool_choice="auto",
            tools=[],
        )

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    async def events(self) -> AsyncIterator[TResponseStreamEvent]:
        yield ResponseCreatedEvent(
            type="response.created",
            response=self.response.model_copy(),
            sequence_number=self.next_seq(),
        )
        yield ResponseInProgressEvent(
            type="response.in_progress",
            response=self.response.model_copy(),
            sequence_number=self.next_seq(),
        )
        shell, item = _output_items(self.plan)
        yield ResponseOutputItemAddedEvent(
            type="response.output_item.added",
            item=shell,
            output_index=0,
            sequence_number=self.next_seq(),
        )
        if isinstance(self.plan, ToolCallPlan):
            for event in self._call_events(item.id or "", self.plan):
                yield event
        else:
            async for event in self._text_events(item.id or "", self.plan):
                yield event
        yield ResponseOutputItemDoneEvent(
            type="response.output_item.done",
            item=item,
            output_index=0,
            sequence_number=self.next_seq(),
        )
        input_tokens, output_tokens = _usage_counts(self.plan, self.input_chars)
        done = self.response.model_copy(
            update={
                "status": "completed",
                "completed_at": int(time.time()),
                "output": [item],
                "usage": _response_usage(input_tokens, output_tokens),
            }
        )
        yield ResponseCompletedEvent(
            type="response.completed", response=done, sequence_number=self.next_seq()
        )

    def _call_events(self, item_id: str, plan: ToolCallPlan) -> list[TResponseStreamEvent]:
        return [
            ResponseFunctionCallArgumentsDeltaEvent(
                type="response.function_call_arguments.delta",
                item_id=item_id,
                output_index=0,
                delta=plan.arguments,
                sequence_number=self.next_seq(),
            ),
            ResponseFunctionCallArgumentsDoneEvent(
                type="response.function_call_arguments.done",
                item_id=item_id,
                output_index=0,
                arguments=plan.arguments,
                sequence_number=self.next_seq(),
            ),
        ]

    async def _text_events(
        self, item_id: str, plan: MessagePlan
    ) -> AsyncIterator[TResponseStreamEvent]:
        yield ResponseContentPartAddedEvent(
            type="response.content_part.added",
            item_id=item_id,
            output_index=0,
            content_index=0,
            part=_output_text(""),
            sequence_number=self.next_seq(),
        )
        pace = self.model.pace_s
        for index, delta in enumerate(text.chunks(plan.text)):
            if index and pace > 0:
                await asyncio.sleep(pace)
            elif index % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)
            yield ResponseTextDeltaEvent(
                type="response.output_text.delta",
                item_id=item_id,
                output_index=0,
                content_index=0,
                delta=delta,
                logprobs=[],
                sequence_number=self.next_seq(),
            )
        yield ResponseTextDoneEvent(
            type="response.output_text.done",
            item_id=item_id,
            output_index=0,
            content_index=0,
            text=plan.text,
            logprobs=[],
            sequence_number=self.next_seq(),
        )
        yield ResponseContentPartDoneEvent(
            type="response.content_part.done",
            item_id=item_id,
            output_index=0,
            content_index=0,
            part=_output_text(plan.text),
            sequence_number=self.next_seq(),
        )


class OfflineModelProvider(ModelProvider):
    """Serves one shared `OfflineModel` whatever model name an agent asks for."""

    def __init__(self, *, pace_s: float = 0.0) -> None:
        self._model = OfflineModel(pace_s=pace_s)
        # Kept only so logs can show which names agents asked for; they change nothing.
        self.requested_names: set[str] = set()

    def get_model(self, model_name: str | None) -> Model:
        if model_name:
            self.requested_names.add(model_name)
        return self._model


__all__ = ["OfflineModel", "OfflineModelProvider"]
