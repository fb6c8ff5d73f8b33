"""Arguments the offline model makes up for a function tool, from its JSON schema alone.

Honest values only: the user's words for text, a URL that really appeared (in the user's
message or an earlier successful tool output) for URL parameters, the schema's default or
bounds for numbers. A required value that cannot be honestly filled means "do not call".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agents import FunctionTool

from agents_app.models import offline_text as text

_TOPIC_PARAMS = frozenset({"topic", "subject", "theme", "тема"})
_URL_HINTS = ("url", "uri", "link", "href")


class _Unfillable(Exception):
    """A required value the offline model cannot honestly make up (e.g. a URL)."""


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        return node if isinstance(node, Mapping) else {}
    return schema


class _Filler:
    def __init__(self, message: str, url_sources: Sequence[str], root: Mapping[str, Any]) -> None:
        self.message = message
        self.url_sources = url_sources
        self.root = root

    def string(self, name: str, schema: Mapping[str, Any]) -> str:
        if schema.get("format") == "uri" or any(h in name.casefold() for h in _URL_HINTS):
            urls = [url for source in self.url_sources for url in text.find_urls(source)]
            if not urls:
                raise _Unfillable(name)
            return urls[0]
        value = (
            text.extract_topic(self.message).text
            if name.casefold() in _TOPIC_PARAMS
            else self.message
        )
        limit = schema.get("maxLength")
        return value[:limit] if isinstance(limit, int) else value

    def value(self, name: str, schema: Mapping[str, Any], depth: int = 0) -> Any:
        schema = _resolve(schema, self.root)
        if depth > 8:
            raise _Unfillable(name)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][0]
        variants = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(variants, list) and variants:
            # Nullable optionals (strict schemas list them as required): null is honest and valid.
            if any(_resolve(v, self.root).get("type") == "null" for v in variants):
                return None
            return self.value(name, variants[0], depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "string":
            return self.string(name, schema)
        if kind in ("integer", "number"):
            # The tool author's default is the considered choice; bounds are only limits.
            value = schema.get("default", schema.get("minimum", 3))
            maximum = schema.get("maximum")
            return min(value, maximum) if isinstance(maximum, int | float) else value
        if kind == "boolean":
            return False
        if kind == "array":
            return []
        if kind == "object":
            return self.object(schema, depth + 1)
        return None

    def object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        required = schema.get("required") or []
        return {
            key: self.value(key, properties[key], depth) for key in required if key in properties
        }


def tool_arguments(
    tool: FunctionTool, message: str, url_sources: Sequence[str]
) -> dict[str, Any] | None:
    """Arguments valid for the tool's JSON schema, or None when one cannot be made up."""
    schema = tool.params_json_schema
    try:
        return _Filler(message, url_sources, schema).object(schema, 0)
    except _Unfillable:
        return None
