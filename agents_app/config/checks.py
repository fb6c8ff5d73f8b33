"""Graph checks that do not stop a config from loading, reported as warnings.

Each is something that runs but is probably not what the author meant: an agent no
conversation can reach, a var no prompt uses, a handoff target other agents cannot tell
apart from the rest. Positions point at the thing to change.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from .errors import ConfigIssue
from .positions import Loc, YamlLocator, format_path

Warn = Callable[[Loc, str], ConfigIssue]


def reachable_from(start: str, handoffs: Mapping[str, Collection[str]]) -> list[str]:
    """Agent ids a conversation can reach from ``start`` by handoffs, in visiting order."""
    seen = {start}
    order = [start]
    queue = deque([start])
    while queue:
        for target in handoffs.get(queue.popleft(), ()):
            if target in handoffs and target not in seen:
                seen.add(target)
                order.append(target)
                queue.append(target)
    return order


def graph_warnings(
    plain: Mapping[Any, Any],
    locator: YamlLocator,
    file: str,
    used_vars: Collection[str] | None,
) -> list[ConfigIssue]:
    """Warnings for a parsed document (``plain``); ``used_vars`` None skips the vars check.

    Works on the raw document so warnings come out next to errors, not only after a clean
    load; anything malformed is skipped here because the loader reports it as an error.
    """

    def warn(loc: Loc, message: str) -> ConfigIssue:
        pos = locator.key(loc)
        return ConfigIssue(file, pos.line, pos.column, format_path(loc), message, "warning")

    agents = _agents(plain)
    issues = list(_unreachable(plain.get("start"), agents, warn))
    issues.extend(_undescribed_targets(agents, warn))
    issues.extend(_shared_names(agents, warn))
    issues.extend(_unused_guardrails(plain, agents, warn))
    if used_vars is not None and isinstance(plain.get("vars"), dict):
        issues.extend(
            warn(("vars", name), f"var {name!r} is not used by any agent's instructions")
            for name in plain["vars"]
            if isinstance(name, str) and name not in used_vars
        )
    return issues


def _agents(plain: Mapping[Any, Any]) -> dict[str, dict[Any, Any]]:
    raw = plain.get("agents")
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, dict)}


def _handoffs(spec: Mapping[Any, Any]) -> list[str]:
    raw = spec.get("handoffs")
    return [t for t in raw if isinstance(t, str)] if isinstance(raw, list) else []


def _unreachable(
    start: Any, agents: dict[str, dict[Any, Any]], warn: Warn
) -> Iterator[ConfigIssue]:
    if not isinstance(start, str) or start not in agents:
        return  # a bad start is an error already
    graph = {agent_id: _handoffs(spec) for agent_id, spec in agents.items()}
    reached = set(reachable_from(start, graph))
    for agent_id in agents:
        if agent_id not in reached:
            yield warn(
                ("agents", agent_id),
                f"agent {agent_id!r} is unreachable from start {start!r}: no agent a "
                f"conversation can get to hands off to it (add {agent_id!r} to the "
                f"handoffs of {start!r} or another reachable agent)",
            )


def _undescribed_targets(agents: dict[str, dict[Any, Any]], warn: Warn) -> Iterator[ConfigIssue]:
    for agent_id, spec in agents.items():
        description = spec.get("description")
        if isinstance(description, str) and description.strip():
            continue
        if description is not None and not isinstance(description, str):
            continue  # wrong type: an error already
        sources = [a for a, s in agents.items() if agent_id in _handoffs(s)]
        if sources:
            who = f"{sources[0]} hands" if len(sources) == 1 else f"{', '.join(sources)} hand"
            yield warn(
                ("agents", agent_id),
                f"agent {agent_id!r} has no description, but {who} off to it and choose "
                "specialists by their descriptions; say what it handles",
            )


def _guardrail_refs(refs: Any) -> set[str]:
    if not isinstance(refs, Mapping):
        return set()
    listed = [refs.get("input"), refs.get("output")]
    return {n for names in listed if isinstance(names, list) for n in names if isinstance(n, str)}


def _unused_guardrails(
    plain: Mapping[Any, Any], agents: dict[str, dict[Any, Any]], warn: Warn
) -> Iterator[ConfigIssue]:
    defined = plain.get("guardrails")
    if not isinstance(defined, Mapping):
        return
    used = _guardrail_refs(plain.get("run_guardrails"))
    for spec in agents.values():
        used |= _guardrail_refs(spec.get("guardrails"))
        per_tool = spec.get("tool_guardrails")
        for refs in per_tool.values() if isinstance(per_tool, Mapping) else ():
            used |= _guardrail_refs(refs)
    for name in defined:
        if isinstance(name, str) and name not in used:
            yield warn(
                ("guardrails", name),
                f"guardrail {name!r} is not used: list it under run_guardrails, an agent's "
                "guardrails or its tool_guardrails (input or output), or remove it",
            )


def _shared_names(agents: dict[str, dict[Any, Any]], warn: Warn) -> Iterator[ConfigIssue]:
    first: dict[str, str] = {}
    for agent_id, spec in agents.items():
        name = spec.get("name")
        if not isinstance(name, str):
            continue
        key = name.strip().casefold()
        if key in first:
            yield warn(
                ("agents", agent_id, "name"),
                f"display name {name!r} is also used by agent {first[key]!r}; models see "
                "display names in handoff descriptions and may confuse the two",
            )
        else:
            first[key] = agent_id
