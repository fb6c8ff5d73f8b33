"""The joker's tool: how many jokes to tell."""

from __future__ import annotations

import random

from agents import function_tool

MIN_JOKES, MAX_JOKES = 1, 10
_rng = random.Random()


def seed(value: int | None) -> None:
    """Make the count reproducible (tests, demos); None returns to OS randomness."""
    _rng.seed(value)


@function_tool
def how_many_jokes() -> int:
    """Decide how many jokes to tell (between 1 and 10). Call it before telling jokes."""
    return _rng.randint(MIN_JOKES, MAX_JOKES)
