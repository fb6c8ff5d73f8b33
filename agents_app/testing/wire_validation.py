"""Check every payload the fake sends against the installed openai types.

The openai client parses leniently (`construct`), so a fake that drifts from the real wire
format would still "work" in tests and break against a real server. Validating here makes
a drift fail loudly at the fake instead.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Any

from openai import BaseModel
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent

JSONDict = dict[str, Any]


class WireDriftError(AssertionError):
    """A payload the fake was about to send does not match the installed openai types."""


@cache
def _response_event_models() -> dict[str, type[BaseModel]]:
    # ResponseStreamEvent is Annotated[Union[...], PropertyInfo(discriminator="type")]; pydantic
    # ignores openai's PropertyInfo, so a TypeAdapter over the union would try all ~60 members
    # and bury the real error. Dispatching on `type` gives the same strictness, readable errors.
    (union, *_metadata) = typing.get_args(ResponseStreamEvent)
    models: dict[str, type[BaseModel]] = {}
    for model in typing.get_args(union):
        for literal in typing.get_args(model.model_fields["type"].annotation):
            models[literal] = model
    return models


def _reject_extras(value: object, where: str) -> None:
    # openai models allow extra keys, so a misspelt or renamed field would pass validation;
    # a fake has no business sending keys the client does not know.
    if isinstance(value, BaseModel):
        if value.model_extra:
            raise WireDriftError(f"{where}: unknown field(s) {sorted(value.model_extra)}")
        for name in type(value).model_fields:
            _reject_extras(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list | tuple):
        for index, element in enumerate(value):
            _reject_extras(element, f"{where}[{index}]")
    elif isinstance(value, dict):
        for key, element in value.items():
            _reject_extras(element, f"{where}.{key}")


def _validate(model: type[BaseModel], payload: JSONDict, what: str) -> None:
    try:
        parsed = model.model_validate(payload)
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        raise WireDriftError(f"{what} does not match {model.__name__}: {exc}") from exc
    _reject_extras(parsed, what)


def validate_response_event(event: JSONDict) -> None:
    event_type = event.get("type")
    model = _response_event_models().get(str(event_type))
    if model is None:
        raise WireDriftError(f"unknown Responses stream event type {event_type!r}")
    _validate(model, event, f"Responses event {event_type}")


def validate_response(response: JSONDict) -> None:
    _validate(Response, response, "Response")


def validate_chat_chunk(chunk: JSONDict) -> None:
    _validate(ChatCompletionChunk, chunk, "ChatCompletionChunk")


def validate_chat_completion(completion: JSONDict) -> None:
    _validate(ChatCompletion, completion, "ChatCompletion")
