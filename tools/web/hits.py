"""What a search backend returns, and how hits are shown to the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tools.web.client import WebRuntime


@dataclass(frozen=True)
class Hit:
    title: str
    url: str
    snippet: str


@dataclass(frozen=True)
class Results:
    backend: str
    language: str
    hits: list[Hit]


class SearchBackend(Protocol):
    name: str

    async def search(self, web: WebRuntime, query: str, limit: int) -> Results: ...


def format_results(query: str, results: Results) -> str:
    head = f'Search results for "{query}" ({results.backend}, language: {results.language})'
    if not results.hits:
        return f"{head}: no results. Try other or fewer words."
    lines = [f"{head}:"]
    for number, hit in enumerate(results.hits, 1):
        lines.append(f"{number}. {hit.title}\n   {hit.url}")
        if hit.snippet:
            lines.append(f"   {hit.snippet}")
    return "\n".join(lines)
