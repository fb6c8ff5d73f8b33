"""Config problems as ``file:line:column: path: message`` lines, the format editors and CI
annotators already understand."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .schema import AgentsConfig


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a config file. ``line`` and ``column`` are 1-based."""

    file: str
    line: int
    column: int
    path: str
    message: str
    # Errors stop the config from loading; warnings (an agent nobody can reach, a var
    # nobody uses) load fine but are probably mistakes. ``validate --strict`` fails on both.
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        # gcc-style "warning:" label, which editors' and CI's problem matchers pick up; errors
        # keep the unlabelled form they have always had.
        label = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}:{self.column}: {label}{self.path}: {self.message}"


class ConfigError(Exception):
    """Raised by ``load_config`` with every problem found, not just the first."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues: list[ConfigIssue] = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)


@dataclass(frozen=True, slots=True)
class ConfigReport:
    """What ``check_config`` found: the config (None if any error) and every issue."""

    config: AgentsConfig | None
    errors: tuple[ConfigIssue, ...]
    warnings: tuple[ConfigIssue, ...]

    @property
    def issues(self) -> tuple[ConfigIssue, ...]:
        """Errors and warnings in file order, the way an editor lists them."""
        return tuple(sorted((*self.errors, *self.warnings), key=_file_order))


def _file_order(issue: ConfigIssue) -> tuple[str, int, int]:
    return (issue.file, issue.line, issue.column)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest candidate, or ``""`` if none is close."""
    pool = list(candidates)
    # 0.75 rather than difflib's 0.6: below it, suggestions for short names are mostly noise
    # ("user_nme" → "service_name"), and a wrong hint costs more than no hint.
    matches = difflib.get_close_matches(word, pool, n=1, cutoff=0.75)
    if not matches:
        # Case slips and abbreviations ("Joker", "desc", "web") score low on short words.
        lowered = word.lower()
        matches = [c for c in pool if c.lower() == lowered]
        if not matches and len(word) >= 3:
            matches = sorted(c for c in pool if c.lower().startswith(lowered))
    return f" (did you mean {matches[0]!r}?)" if len(matches) == 1 else ""


def known_list(candidates: Iterable[str], limit: int = 12) -> str:
    """``"known: a, b, c"`` (truncated), so an author without a close match sees the options."""
    pool = sorted(candidates)
    if not pool:
        return "none are defined"
    shown = ", ".join(pool[:limit])
    return f"known: {shown}" + (f", … ({len(pool) - limit} more)" if len(pool) > limit else "")
