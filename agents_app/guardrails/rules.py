"""The rule kinds: cheap, deterministic checks on one piece of text."""

from __future__ import annotations

import re
from collections.abc import Callable

from agents_app.config.guardrail_specs import GuardrailSpec
from agents_app.guardrails.verdicts import PASS, Verdict

Rule = Callable[[str], Verdict]


def rule_for(spec: GuardrailSpec) -> Rule:
    """The check of a regex, keywords or max_length guardrail (the loader validated it)."""
    if spec.kind == "regex":
        assert spec.pattern is not None
        return _regex(re.compile(spec.pattern))
    if spec.kind == "keywords":
        assert spec.words is not None
        return _keywords(spec.words)
    if spec.kind == "max_length":
        assert spec.max_chars is not None
        return _max_length(spec.max_chars)
    raise ValueError(f"{spec.kind} is not a rule kind")


def _regex(pattern: re.Pattern[str]) -> Rule:
    def check(text: str) -> Verdict:
        found = pattern.search(text)
        return Verdict(True, f"matched at {found.start()}") if found else PASS

    return check


def _keywords(words: tuple[str, ...]) -> Rule:
    # Whole words in any case ("class" does not trip on "classic"); phrases match as written,
    # with any run of spaces between their words. \w is Unicode-aware, so Cyrillic works too.
    alternatives = "|".join(r"\s+".join(map(re.escape, w.split())) for w in words)
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def check(text: str) -> Verdict:
        found = pattern.search(text)
        return Verdict(True, f"contains {found.group()!r}") if found else PASS

    return check


def _max_length(limit: int) -> Rule:
    def check(text: str) -> Verdict:
        return Verdict(True, f"{len(text)} characters > {limit}") if len(text) > limit else PASS

    return check
