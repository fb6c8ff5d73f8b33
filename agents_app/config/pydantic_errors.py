"""pydantic validation errors → positioned ``ConfigIssue``s in YAML terms.

pydantic speaks Python ("Input should be a valid tuple"); prompt authors read YAML
("expected a list"), and want the unknown key itself underlined, with a suggestion.
"""

from __future__ import annotations

from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from .errors import ConfigIssue, did_you_mean
from .positions import Loc, YamlLocator, format_path
from .schema import AgentsFile

_TYPE_MESSAGES = {
    "string_type": "expected a string",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "float_type": "expected a number",
    "int_type": "expected an integer",
    "bool_type": "expected true or false",
}
# Messages that already say what is wrong with the value, so "(got …)" adds nothing.
_NO_INPUT = {"too_short": "must not be empty"}


def pydantic_issue(
    error: ErrorDetails, locator: YamlLocator, file: str, root: type[BaseModel] = AgentsFile
) -> ConfigIssue:
    """One issue for one pydantic error, positioned via ``locator``."""
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        model = _model_at(root, loc[:-1])
        hint = did_you_mean(key, model.model_fields) if model else ""
        pos, message = locator.key(loc), f"unknown key {key!r}{hint}"
    elif kind == "missing":
        # Absent text has no position; the mapping that lacks the key is the next best.
        pos, message = locator.key(loc[:-1]), f"required key {loc[-1]!r} is missing"
    elif loc and loc[-1] == "[key]":
        loc = loc[:-1]
        pos, message = locator.key(loc), f"key: {_describe(error)}"
    else:
        pos, message = locator.value(loc), _describe(error)
    return ConfigIssue(file, pos.line, pos.column, format_path(loc), message)


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model whose fields are the valid keys at ``loc`` (for did-you-mean)."""
    annotation: Any = root
    for part in loc:
        model = _unwrap_model(annotation)
        if model is not None:
            field = model.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]  # ``part`` is a key such as an agent id
        elif get_origin(annotation) in (list, tuple) and isinstance(part, int):
            annotation = get_args(annotation)[0]  # ``part`` is an item index
        else:
            return None
    return _unwrap_model(annotation)


def _unwrap_model(annotation: Any) -> type[BaseModel] | None:
    is_union = get_origin(annotation) in (Union, UnionType)
    for option in get_args(annotation) if is_union else (annotation,):
        if isinstance(option, type) and issubclass(option, BaseModel):
            return option
    return None


def _describe(error: ErrorDetails) -> str:
    if error["type"] in _NO_INPUT:
        return _NO_INPUT[error["type"]]
    message = _TYPE_MESSAGES.get(error["type"], error["msg"])
    return f"{message[:1].lower()}{message[1:]} (got {_show(error['input'])})"


def _show(value: Any) -> str:
    if value is None or isinstance(value, bool | dict | list):
        return yaml_kind(value)
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "…"


def yaml_kind(value: Any) -> str:
    """What a plain value is called in YAML terms ("a mapping", not "dict")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    for kind, name in ((dict, "a mapping"), (list, "a list"), (str, "a string")):
        if isinstance(value, kind):
            return name
    return "a number" if isinstance(value, int | float) else f"a {type(value).__name__}"
