"""Tools by name, as agents.yaml refers to them.

A tool's module is imported when a graph first asks for it by name: a graph without the web
tools never loads them, and listing names (config checks) loads none.
"""

from __future__ import annotations

import importlib
from types import MappingProxyType

from agents import FunctionTool

# name → "module:attribute" of its FunctionTool.
_LOCATIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "how_many_jokes": "tools.jokes:how_many_jokes",
        "web_search": "tools.web.search:web_search",
        "fetch_url": "tools.web.fetch:fetch_url",
    }
)


def get_tool(name: str) -> FunctionTool:
    try:
        location = _LOCATIONS[name]
    except KeyError:
        known = ", ".join(sorted(_LOCATIONS))
        raise KeyError(f"unknown tool {name!r}; known: {known}") from None
    module, attribute = location.split(":")
    tool = getattr(importlib.import_module(module), attribute)
    assert isinstance(tool, FunctionTool), location
    return tool


def tool_names() -> frozenset[str]:
    return frozenset(_LOCATIONS)


def all_tools() -> dict[str, FunctionTool]:
    """Every tool, imported (for listings that show their descriptions)."""
    return {name: get_tool(name) for name in sorted(_LOCATIONS)}
