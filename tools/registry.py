"""Tools by name, as agents.yaml refers to them."""

from __future__ import annotations

from types import MappingProxyType

from agents import FunctionTool

from tools.jokes import how_many_jokes
from tools.web.fetch import fetch_url
from tools.web.search import web_search

TOOLS: MappingProxyType[str, FunctionTool] = MappingProxyType(
    {tool.name: tool for tool in (how_many_jokes, web_search, fetch_url)}
)


def get_tool(name: str) -> FunctionTool:
    try:
        return TOOLS[name]
    except KeyError:
        raise KeyError(f"unknown tool {name!r}; known: {', '.join(sorted(TOOLS))}") from None


def tool_names() -> frozenset[str]:
    return frozenset(TOOLS)
