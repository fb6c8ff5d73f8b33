"""Agents' and judges' instructions: inline in the YAML or from a prompt file beside it, with
their ``{placeholders}`` checked against ``vars`` and filled.

A problem is reported where the author must fix it: the brace in the YAML scalar or in the
prompt file, as ``file:line:column``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .errors import did_you_mean
from .placeholders import BraceError, Placeholder, scan, substitute
from .positions import Loc, Position, TextIndex, YamlLocator, scalar_content_offset

# Where a problem goes: (position, path in the YAML, message, file).
Report = Callable[[Position, Loc, str, str], None]


class Prompts:
    def __init__(
        self,
        source: Path,
        index: TextIndex,
        locator: YamlLocator,
        vars_: dict[str, str],
        report: Report,
    ) -> None:
        self.source = source
        self.file = str(source)
        self.index = index  # the YAML's text: positions inside its scalars
        self.locator = locator
        self.vars = vars_
        self.report = report
        self.used_vars: set[str] = set()  # every var a prompt read so far names

    def read(self, loc: Loc, spec: dict[Any, Any], what: str = "agent") -> str | None:
        """The instructions of the agent (or judge) at `loc`, filled; None after reporting
        why they cannot be had."""
        inline, file = spec.get("instructions"), spec.get("instructions_file")
        if inline is not None and file is not None:
            keys = [k for k in spec if k in ("instructions", "instructions_file")]
            at = (*loc, keys[-1])
            message = "set either 'instructions' or 'instructions_file', not both"
            self.report(self.locator.key(at), at, message, self.file)
            return None
        if inline is None and file is None:
            message = (
                f"{'a judge ' if what == 'judge' else ''}needs 'instructions' (text) or "
                "'instructions_file' (path to a prompt)"
            )
            self.report(self.locator.key(loc), loc, message, self.file)
            return None
        if isinstance(inline, str):
            at = (*loc, "instructions")
            return self._fill(inline, at, self.file, self._yaml_positions(at))
        if isinstance(file, str) and file:
            at = (*loc, "instructions_file")
            prompt_path = self.source.parent / file
            text = self._read_file(prompt_path, at)
            if text is None:
                return None
            prompt_index = TextIndex(text)
            return self._fill(
                text, at, str(prompt_path), lambda _n, off: prompt_index.position(off)
            )
        return None  # wrong types: pydantic has reported them

    def _yaml_positions(self, at: Loc) -> Callable[[int, int], Position]:
        """Map the n-th brace token of an inline scalar to its line/column in the YAML."""
        fallback = self.locator.value(at)
        exact = self.locator.exact_value(at)  # None for merged (``<<``) keys
        if exact is None:
            return lambda _n, _offset: fallback
        start = scalar_content_offset(self.index, self.locator.node(at), exact)
        # Braces survive every YAML quoting style unchanged, so the n-th token of the source
        # text from the scalar's start is the n-th token of the value. Scanned lazily: only
        # problems need positions.
        tokens = scan(self.index.text[start:])
        offsets: list[int] = []

        def position(n: int, _offset: int) -> Position:
            while len(offsets) <= n:
                token = next(tokens, None)
                if token is None:
                    return fallback  # escapes like "\x7b" make braces the source lacks
                offsets.append(token.offset)
            return self.index.position(start + offsets[n])

        return position

    def _read_file(self, prompt_path: Path, at: Loc) -> str | None:
        where = self.locator.value(at)
        try:
            return prompt_path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            siblings = _siblings(prompt_path.parent)
            hint = did_you_mean(prompt_path.name, siblings)
            self.report(where, at, f"file not found: {prompt_path}{hint}", self.file)
        except UnicodeDecodeError as exc:
            self.report(where, at, f"{prompt_path} is not UTF-8 text: {exc.reason}", self.file)
        except OSError as exc:
            self.report(where, at, f"cannot read {prompt_path}: {exc.strerror}", self.file)
        return None

    def _fill(
        self, text: str, at: Loc, file: str, position: Callable[[int, int], Position]
    ) -> str | None:
        """Check placeholders (reporting each at ``position(n, offset)``), then substitute."""
        problems = 0
        for n, token in enumerate(scan(text)):
            pos = position(n, token.offset)
            if isinstance(token, BraceError):
                message = f"{token.message}; write '{{{{' or '}}}}' for a literal brace"
            elif isinstance(token, Placeholder) and not token.is_name:
                message = (
                    f"'{{{token.raw}}}' is not a placeholder name; "
                    "write '{{' and '}}' for literal braces"
                )
            elif token.raw in self.vars:
                self.used_vars.add(token.raw)
                continue
            else:
                hint = did_you_mean(token.raw, self.vars) or " (define it under 'vars')"
                message = f"unknown var {token.raw!r}{hint}"
            self.report(pos, at, message, file)
            problems += 1
        if problems:
            return None
        return substitute(text, self.vars)


def _siblings(directory: Path) -> Iterable[str]:
    try:
        return [p.name for p in directory.iterdir() if p.is_file()]
    except OSError:
        return []
