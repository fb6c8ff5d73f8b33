"""``{var}`` placeholders in instructions, with the offset of each one.

Parsing is delegated to ``string.Formatter`` so the rules are exactly ``str.format``'s
(``{{`` and ``}}`` are literal braces); this module only recovers *where* each field is,
which ``Formatter.parse`` does not say.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Placeholder:
    """A ``{...}`` field. ``offset`` is the index of its opening brace."""

    offset: int
    raw: str  # the text between the braces, as written

    @property
    def is_name(self) -> bool:
        # Only bare names: ``{a.b}``, ``{0}``, ``{x!r}``, ``{x:>3}`` are almost always a
        # JSON example or a typo in a prompt, and attribute access on vars is not a feature.
        return self.raw.isidentifier()


@dataclass(frozen=True, slots=True)
class BraceError:
    """A brace ``str.format`` rejects (a lone ``}`` or an unclosed ``{``)."""

    offset: int
    message: str


Token = Placeholder | BraceError


def _raw_length(literal: str) -> int:
    # Formatter.parse un-escapes ``{{``/``}}`` in literal text, so each brace left in a
    # literal stood for two characters of the original.
    return len(literal) + literal.count("{") + literal.count("}")


def _closing_brace(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return len(text) - 1


def _first_unpaired_brace(text: str, start: int) -> int:
    i = start
    while i < len(text):
        pair = text[i : i + 2]
        if pair in ("{{", "}}"):
            i += 2
        elif text[i] in "{}":
            return i
        else:
            i += 1
    return start


def scan(text: str) -> Iterator[Token]:
    """Placeholders in order, then at most one ``BraceError`` (parsing stops there)."""
    offset = 0
    try:
        for literal, field, _spec, _conversion in string.Formatter().parse(text):
            offset += _raw_length(literal)
            if field is None:
                continue
            end = _closing_brace(text, offset)
            yield Placeholder(offset, text[offset + 1 : end])
            offset = end + 1
    except ValueError as exc:
        yield BraceError(_first_unpaired_brace(text, offset), str(exc))


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Fill placeholders; callers have checked every field is a known bare name."""
    return text.format_map(values)
