"""Tool call ids that are unique within a conversation, whatever the provider sends.

AI Studio's documented function-call output carries `call_id` equal to the tool name, so two
calls of one tool share an id. openai-agents requires one id per invocation (it de-duplicates
calls by id, name and arguments, and matches outputs by id), and our events, approvals and
AG-UI `toolCallId` all key by it. This wrapper sits between the SDK and the provider's model:

- on the way in, a call whose id is empty or already taken in this conversation gets a fresh
  one, `<provider id>~<8 hex>`, in the streamed items and in the final response alike;
- on the way out, ids in that form are turned back into the provider's own id, so the
  provider reads its calls and their outputs exactly as it wrote them.

Ids that are already unique (OpenAI's `call_…`) pass through untouched. The suffix is
reversible without any state, so history written by one process or instance reads back
correctly in another.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Iterable
from typing import Any
from uuid import uuid4

from agents import Model, ModelProvider, ModelResponse, ModelSettings
from agents.items import TResponseInputItem, TResponseStreamEvent
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
)

_OURS = re.compile(r"^(?P<provider>.*)~[0-9a-f]{8}$", re.DOTALL)
_CALL_TYPES = ("function_call", "function_call_output")


def provider_call_id(call_id: str) -> str:
    """The id the provider sent for a call we renamed (any other id is returned as is)."""
    match = _OURS.match(call_id)
    return match.group("provider") if match else call_id


def _fresh(provider_id: str) -> str:
    return f"{provider_id or 'call'}~{uuid4().hex[:8]}"


class _Renamer:
    """Ids for one model response, given the ids the conversation already holds."""

    def __init__(self, taken: set[str]) -> None:
        self._taken = taken
        self._by_index: dict[int, str] = {}
        # Provider id → our ids in the order the calls were done, for the final response,
        # whose items carry no output index (Chat Completions items share one fake item id).
        self._done: defaultdict[str, deque[str]] = defaultdict(deque)

    def _claim(self, provider_id: str) -> str:
        call_id = provider_id if provider_id and provider_id not in self._taken else ""
        call_id = call_id or _fresh(provider_id)
        self._taken.add(call_id)
        return call_id

    def event(self, event: TResponseStreamEvent) -> TResponseStreamEvent:
        if isinstance(event, ResponseOutputItemAddedEvent | ResponseOutputItemDoneEvent):
            item = event.item
            if not isinstance(item, ResponseFunctionToolCall):
                return event
            call_id = self._by_index.get(event.output_index)
            if call_id is None:
                call_id = self._by_index[event.output_index] = self._claim(item.call_id)
            if isinstance(event, ResponseOutputItemDoneEvent):
                self._done[item.call_id].append(call_id)
            return _with_item(event, item, call_id)
        if isinstance(event, ResponseCompletedEvent):
            output = self.output(event.response.output)
            response = event.response.model_copy(update={"output": output})
            return event.model_copy(update={"response": response})
        return event

    def output(self, items: Iterable[Any]) -> list[Any]:
        renamed = []
        for item in items:
            if isinstance(item, ResponseFunctionToolCall):
                done = self._done.get(item.call_id)
                call_id = done.popleft() if done else self._claim(item.call_id)
                item = item.model_copy(update={"call_id": call_id})
            renamed.append(item)
        return renamed


def _with_item(
    event: ResponseOutputItemAddedEvent | ResponseOutputItemDoneEvent,
    item: ResponseFunctionToolCall,
    call_id: str,
) -> TResponseStreamEvent:
    if item.call_id == call_id:
        return event
    return event.model_copy(update={"item": item.model_copy(update={"call_id": call_id})})


def _taken_ids(items: str | list[TResponseInputItem]) -> set[str]:
    if isinstance(items, str):
        return set()
    taken = set()
    for item in items:
        call_id = _field(item, "call_id")
        if isinstance(call_id, str) and _field(item, "type") in _CALL_TYPES:
            taken.add(call_id)
    return taken


def _to_provider(items: str | list[TResponseInputItem]) -> str | list[TResponseInputItem]:
    if isinstance(items, str):
        return items
    out: list[TResponseInputItem] = []
    for item in items:
        call_id = _field(item, "call_id")
        if isinstance(call_id, str) and _field(item, "type") in _CALL_TYPES:
            original = provider_call_id(call_id)
            if original != call_id:
                item = _replace(item, original)
        out.append(item)
    return out


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _replace(item: Any, call_id: str) -> Any:
    if isinstance(item, dict):
        return {**item, "call_id": call_id}
    return item.model_copy(update={"call_id": call_id})


class UniqueCallIdsModel(Model):
    """A provider's model whose tool calls have conversation-unique ids (module docstring)."""

    def __init__(self, inner: Model) -> None:
        self.inner = inner

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        *args: Any,
        **kwargs: Any,
    ) -> ModelResponse:
        renamer = _Renamer(_taken_ids(input))
        response = await self.inner.get_response(
            system_instructions, _to_provider(input), model_settings, *args, **kwargs
        )
        response.output = renamer.output(response.output)
        return response

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        *args: Any,
        **kwargs: Any,
    ) -> AsyncIterator[TResponseStreamEvent]:
        renamer = _Renamer(_taken_ids(input))
        stream = self.inner.stream_response(
            system_instructions, _to_provider(input), model_settings, *args, **kwargs
        )
        async for event in stream:
            yield renamer.event(event)

    async def close(self) -> None:
        await self.inner.close()

    async def _cleanup_on_run_end(self, owner: object) -> None:
        await self.inner._cleanup_on_run_end(owner)

    def get_retry_advice(self, request: Any) -> Any:
        return self.inner.get_retry_advice(request)


class UniqueCallIds(ModelProvider):
    """Wraps every model of a provider in `UniqueCallIdsModel`."""

    def __init__(self, inner: ModelProvider) -> None:
        self.inner = inner

    def get_model(self, model_name: str | None) -> Model:
        return UniqueCallIdsModel(self.inner.get_model(model_name))

    async def aclose(self) -> None:
        await self.inner.aclose()


__all__ = ["UniqueCallIds", "UniqueCallIdsModel", "provider_call_id"]
