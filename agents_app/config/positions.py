"""Where things are in a YAML file: pydantic ``loc`` tuples → 1-based line/column.

ruamel's round-trip loader keeps 0-based positions on every ``CommentedMap`` /
``CommentedSeq`` (``.lc``); this module is the only place that knows about them.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedBase, CommentedMap, CommentedSeq
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

Loc = Sequence[str | int]

_PLAIN_PATH_KEY = re.compile(r"^[^\s.\[\]\"']+$")


@dataclass(frozen=True, slots=True)
class Position:
    """1-based, as editors and ``file:line:column`` consumers expect."""

    line: int
    column: int


START = Position(1, 1)


def format_path(loc: Loc) -> str:
    """``("agents", "joker", "tools", 0)`` → ``agents.joker.tools[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_PATH_KEY.match(part):
            out += f".{part}" if out else part
        else:
            # Keys with dots or spaces would make the path ambiguous; quote them.
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


class TextIndex:
    """Offset ↔ line/column for one text (a YAML file or a prompt file)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = [0, *(i + 1 for i, ch in enumerate(text) if ch == "\n")]

    def position(self, offset: int) -> Position:
        line = bisect.bisect_right(self._starts, offset) - 1
        return Position(line + 1, offset - self._starts[line] + 1)

    def offset(self, line0: int, column0: int) -> int:
        """Offset of a 0-based ruamel position."""
        line0 = min(line0, len(self._starts) - 1)
        return min(self._starts[line0] + column0, len(self.text))

    def line_start(self, line0: int) -> int:
        if line0 >= len(self._starts):
            return len(self.text)
        return self._starts[line0]


def _pos(line0: int, column0: int) -> Position:
    return Position(line0 + 1, column0 + 1)


def _node_pos(node: Any) -> Position | None:
    if isinstance(node, CommentedBase):
        return _pos(node.lc.line, node.lc.col)
    return None


class YamlLocator:
    """Answers "where is ``loc``?" for one parsed document.

    Every lookup degrades gracefully: a ``loc`` that goes deeper than the YAML (pydantic
    adds union tags, merged ``<<`` keys have no own positions) resolves to the deepest
    node that does exist, never raises.
    """

    def __init__(self, root: Any) -> None:
        self.root = root

    def _walk(self, loc: Loc) -> tuple[Position, Position, int]:
        """(key position, value position, how many parts of ``loc`` were found)."""
        node = self.root
        key_pos = value_pos = _node_pos(node) or START
        for depth, part in enumerate(loc):
            try:
                if isinstance(node, CommentedMap) and part in node:
                    key_pos = _pos(*node.lc.key(part))
                    value_pos = _pos(*node.lc.value(part))
                elif isinstance(node, CommentedSeq) and isinstance(part, int):
                    key_pos = value_pos = _pos(*node.lc.item(part))
                else:
                    return key_pos, value_pos, depth
            except (KeyError, IndexError, TypeError):
                # Merged keys (``<<: *base``) are readable but have no positions here.
                return key_pos, value_pos, depth
            node = node[part]
        return key_pos, value_pos, len(loc)

    def key(self, loc: Loc) -> Position:
        """Where the key (or sequence item) named by ``loc`` starts."""
        return self._walk(loc)[0]

    def value(self, loc: Loc) -> Position:
        """Where the value at ``loc`` starts (for block scalars: the ``|``/``>`` indicator)."""
        key_pos, value_pos, found = self._walk(loc)
        # If the path stops early, the key is a better anchor than the parent's value.
        return value_pos if found == len(loc) else key_pos

    def exact_value(self, loc: Loc) -> Position | None:
        """Like ``value`` but ``None`` unless the value itself has a position."""
        _, value_pos, found = self._walk(loc)
        return value_pos if found == len(loc) else None

    def node(self, loc: Loc) -> Any:
        node = self.root
        for part in loc:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        return node


def scalar_content_offset(index: TextIndex, scalar: Any, value_pos: Position) -> int:
    """Offset in the YAML text where a scalar's content starts.

    Block scalars (``|``, ``>``) start on the line after the indicator, so a comment or
    chomping indicator on the header line is never mistaken for content.
    """
    if isinstance(scalar, LiteralScalarString | FoldedScalarString):
        return index.line_start(value_pos.line)  # next line: ``line`` is 1-based
    return index.offset(value_pos.line - 1, value_pos.column - 1)


def to_plain(node: Any) -> Any:
    """ruamel's round-trip types → plain ``dict``/``list``/``str``/``int``/``float``/``bool``.

    Strict pydantic models would otherwise see ``ScalarFloat`` and friends, and error
    messages would show ruamel reprs.
    """
    if isinstance(node, dict):
        return {_plain_key(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, ScalarBoolean | bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _plain_key(key: Any) -> Any:
    # Complex YAML keys (``? [a, b]``) would become unhashable lists; pydantic then reports
    # the string form as a bad key, which is all such a key deserves here.
    plain = to_plain(key)
    return plain if isinstance(plain, str | int | float | bool) or plain is None else str(key)
