"""Load ``agents.yaml``: parse, validate, cross-check, resolve instructions.

Every problem is collected (not just the first) and reported as ``file:line:column``,
because prompt authors fix configs in an editor, not by reading tracebacks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from .checks import graph_warnings
from .errors import ConfigError, ConfigIssue, ConfigReport, did_you_mean, known_list
from .guardrail_specs import GUARDRAIL_FIELDS, GUARDRAIL_REQUIRED
from .mcp_checks import mcp_issues
from .messages import bad_id_message, syntax_issue
from .model_api import ModelApi, model_api_issues
from .placeholders import BraceError, Placeholder, scan, substitute
from .positions import (
    START,
    Loc,
    Position,
    TextIndex,
    YamlLocator,
    format_path,
    scalar_content_offset,
    to_plain,
)
from .pydantic_errors import pydantic_issue, yaml_kind
from .schema import AGENT_ID_PATTERN, AgentsConfig, AgentsFile, var_to_text

_AGENT_ID = re.compile(AGENT_ID_PATTERN)


def load_config(
    path: str | Path,
    *,
    tool_names: Collection[str],
    environ: Mapping[str, str] | None = None,
    model_api: ModelApi | None = None,
) -> AgentsConfig:
    """Load and check an agents config; raise ``ConfigError`` listing every problem.

    ``environ`` (default ``os.environ``) is only consulted to warn about ``${NAME}``
    references to variables that are not set. ``model_api``, when known, adds what that
    provider and API refuse (see ``model_api``).
    """
    source = Path(path)
    return _Loader(source, frozenset(tool_names), environ, model_api).load()


def check_config(
    path: str | Path,
    *,
    tool_names: Collection[str],
    environ: Mapping[str, str] | None = None,
    model_api: ModelApi | None = None,
) -> ConfigReport:
    """Errors and warnings for an agents config; never raises for problems in it."""
    loader = _Loader(Path(path), frozenset(tool_names), environ, model_api)
    try:
        config = loader.load()
    except ConfigError as err:
        return ConfigReport(None, tuple(err.issues), tuple(loader.warnings))
    return ConfigReport(config, (), tuple(loader.warnings))


class _Loader:
    def __init__(
        self,
        source: Path,
        tool_names: frozenset[str],
        environ: Mapping[str, str] | None = None,
        model_api: ModelApi | None = None,
    ) -> None:
        self.source = source
        self.model_api = model_api
        self.file = str(source)
        self.tool_names = tool_names
        self.environ = os.environ if environ is None else environ
        self.issues: list[ConfigIssue] = []
        self.warnings: list[ConfigIssue] = []
        self.mcp_warnings: tuple[ConfigIssue, ...] = ()
        self.used_vars: set[str] = set()
        self.index = TextIndex("")
        self.locator = YamlLocator(None)

    # -- reporting ---------------------------------------------------------------------

    def _add(self, pos: Position, loc: Loc | str, message: str, file: str | None = None) -> None:
        path = loc if isinstance(loc, str) else format_path(loc)
        self.issues.append(ConfigIssue(file or self.file, pos.line, pos.column, path, message))

    def _fail(self, pos: Position, path: str, message: str) -> ConfigError:
        self._add(pos, path, message)
        return ConfigError(self.issues)

    # -- stages ------------------------------------------------------------------------

    def load(self) -> AgentsConfig:
        text = self._read_yaml()
        root = self._parse(text)
        plain = to_plain(root)
        document = self._validate(plain)
        agents = plain.get("agents") if isinstance(plain.get("agents"), dict) else {}
        self._check_start(plain.get("start"), agents)
        vars_ = self._vars(plain.get("vars"))
        guards = plain.get("guardrails") if isinstance(plain.get("guardrails"), dict) else {}
        judges, judges_read = self._check_guardrails(guards, vars_)
        self._check_guardrail_refs(("run_guardrails",), plain.get("run_guardrails"), guards)
        servers = plain.get("mcp_servers") if isinstance(plain.get("mcp_servers"), dict) else {}
        errors, self.mcp_warnings = mcp_issues(
            servers, agents, self.locator, self.file, self.environ
        )
        self.issues.extend(errors)
        instructions = self._check_agents(agents, vars_, guards, servers)
        self.issues.extend(model_api_issues(plain, self.locator, self.file, self.model_api))
        # Which vars are used is only known once every prompt (agents', judges') was read.
        all_read = judges_read and len(instructions) == sum(isinstance(k, str) for k in agents)
        used = self.used_vars if all_read else None
        found = graph_warnings(plain, self.locator, self.file, used)
        self.warnings = _sorted([*found, *self.mcp_warnings], self.file)
        if self.issues or document is None:
            raise ConfigError(_sorted(self._unique(), self.file))
        resolved = {
            agent_id: spec.model_copy(update={"instructions": instructions[agent_id]})
            for agent_id, spec in document.agents.items()
        }
        guardrails = {
            name: spec.model_copy(update={"instructions": judges[name]}) if name in judges else spec
            for name, spec in document.guardrails.items()
        }
        fields = {name: getattr(document, name) for name in AgentsFile.model_fields}
        fields |= {"agents": resolved, "guardrails": guardrails, "source": self.source}
        try:
            return AgentsConfig(**fields)
        except ValidationError as exc:  # the checks above should make this unreachable
            raise self._fail(START, "(config)", str(exc)) from exc

    def _read_yaml(self) -> str:
        try:
            return self.source.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise self._fail(START, "(file)", "config file not found") from None
        except UnicodeDecodeError as exc:
            raise self._fail(START, "(file)", f"not UTF-8 text: {exc.reason}") from None
        except OSError as exc:
            raise self._fail(START, "(file)", f"cannot read: {exc.strerror}") from None

    def _parse(self, text: str) -> Any:
        self.index = TextIndex(text)
        try:
            root = YAML(typ="rt").load(text)
        except MarkedYAMLError as exc:
            raise self._fail(*syntax_issue(exc)) from None
        self.locator = YamlLocator(root)
        if not isinstance(root, dict):
            found = "an empty file" if root is None else yaml_kind(to_plain(root))
            message = f"expected a mapping with version, start and agents, got {found}"
            raise self._fail(START, "(document)", message)
        return root

    def _validate(self, plain: dict[Any, Any]) -> AgentsFile | None:
        try:
            return AgentsFile.model_validate(plain)
        except ValidationError as exc:
            for error in exc.errors():
                self.issues.append(pydantic_issue(error, self.locator, self.file))
            return None

    # -- cross-references ----------------------------------------------------------------

    def _vars(self, raw: Any) -> dict[str, str]:
        if not isinstance(raw, dict):
            return {}
        # Bad values are reported by pydantic; here they only need to not crash format().
        return {str(k): str(var_to_text(v)) for k, v in raw.items()}

    def _check_start(self, start: Any, agents: Mapping[Any, Any]) -> None:
        if isinstance(start, str) and agents and start not in agents:
            hint = did_you_mean(start, map(str, agents)) or f" ({known_list(map(str, agents))})"
            self._add(self.locator.value(("start",)), ("start",), f"no agent {start!r}{hint}")

    def _check_guardrails(
        self, guards: Mapping[Any, Any], vars_: dict[str, str]
    ) -> tuple[dict[str, str], bool]:
        """Check each guardrail's own fields; the judges' resolved prompts, and whether every
        judge prompt could be read (else unused-var warnings would be guesses)."""
        judges: dict[str, str] = {}
        all_read = True
        for name, spec in guards.items():
            if not isinstance(name, str):
                continue
            loc = ("guardrails", name)
            if not _AGENT_ID.match(name):
                self._add(self.locator.key(loc), loc, bad_id_message(name, "guardrail"))
            if not isinstance(spec, dict):
                continue
            kind = spec.get("kind")
            if kind not in GUARDRAIL_FIELDS:
                continue  # pydantic reports a missing or unknown kind
            for other, fields in GUARDRAIL_FIELDS.items():
                for field in fields if other != kind else ():
                    if field in spec:
                        at = (*loc, field)
                        message = f"{field!r} belongs to {other} guardrails, not {kind}"
                        self._add(self.locator.key(at), at, message)
            for field in GUARDRAIL_REQUIRED[kind]:
                if field not in spec:
                    self._add(self.locator.key(loc), loc, f"a {kind} guardrail needs {field!r}")
            pattern = spec.get("pattern")
            if kind == "regex" and isinstance(pattern, str):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    at = (*loc, "pattern")
                    self._add(self.locator.value(at), at, f"not a valid regular expression: {exc}")
            if kind == "agent":
                text = self._instructions(loc, spec, vars_, what="judge")
                if text is None:
                    all_read = False
                else:
                    judges[name] = text
        return judges, all_read

    def _check_guardrail_refs(
        self, loc: Loc, refs: Any, guards: Mapping[Any, Any], *, tool: bool = False
    ) -> None:
        """Names under ``input``/``output`` exist; `reject` is only for tool guardrails."""
        if not isinstance(refs, dict):
            return
        names = [k for k in guards if isinstance(k, str)]
        for stage in ("input", "output"):
            self._check_refs(loc, stage, refs.get(stage), names, "guardrail")
            listed = refs.get(stage)
            for i, name in enumerate(listed if isinstance(listed, list) else ()):
                spec = guards.get(name) if isinstance(name, str) else None
                if not tool and isinstance(spec, dict) and spec.get("on_trip") == "reject":
                    at = (*loc, stage, i)
                    message = (
                        f"guardrail {name!r} has on_trip: reject, which only tool guardrails "
                        "can do (there is no call to reject here); use a guardrail with "
                        "on_trip: stop"
                    )
                    self._add(self.locator.value(at), at, message)

    def _check_tool_guardrails(
        self, loc: Loc, spec: dict[Any, Any], guards: Mapping[Any, Any]
    ) -> None:
        per_tool, tools = spec.get("tool_guardrails"), spec.get("tools")
        if not isinstance(per_tool, dict):
            return
        own = [t for t in tools if isinstance(t, str)] if isinstance(tools, list) else []
        for name, refs in per_tool.items():
            if not isinstance(name, str):
                continue
            at = (*loc, "tool_guardrails", name)
            if name not in own:
                hint = did_you_mean(name, own) or f" (its tools: {', '.join(own) or 'none'})"
                message = f"guardrails for {name!r}, which is not one of this agent's tools{hint}"
                self._add(self.locator.key(at), at, message)
            self._check_guardrail_refs(at, refs, guards, tool=True)

    def _check_agents(
        self,
        agents: Mapping[Any, Any],
        vars_: dict[str, str],
        guards: Mapping[Any, Any],
        servers: Mapping[Any, Any],
    ) -> dict[str, str]:
        ids = [k for k in agents if isinstance(k, str)]
        server_names = [k for k in servers if isinstance(k, str)]
        instructions: dict[str, str] = {}
        for agent_id, spec in agents.items():
            if not isinstance(agent_id, str):
                continue  # pydantic reports non-string keys
            loc = ("agents", agent_id)
            if not _AGENT_ID.match(agent_id):
                self._add(self.locator.key(loc), loc, bad_id_message(agent_id))
            if not isinstance(spec, dict):
                continue
            self._check_refs(loc, "handoffs", spec.get("handoffs"), ids, "agent")
            self._check_refs(loc, "tools", spec.get("tools"), self.tool_names, "tool")
            self._check_refs(loc, "mcp", spec.get("mcp"), server_names, "MCP server")
            self._check_approvals(loc, spec)
            self._check_guardrail_refs((*loc, "guardrails"), spec.get("guardrails"), guards)
            self._check_tool_guardrails(loc, spec, guards)
            handoffs = spec.get("handoffs")
            if isinstance(handoffs, list) and agent_id in handoffs:
                at = (*loc, "handoffs", handoffs.index(agent_id))
                self._add(self.locator.value(at), at, "an agent cannot hand off to itself")
            if "prompt" in spec and not {"instructions", "instructions_file"} & spec.keys():
                instructions[agent_id] = ""  # the saved prompt holds them
                continue
            text = self._instructions(loc, spec, vars_)
            if text is not None:
                instructions[agent_id] = text
        return instructions

    def _check_refs(
        self, loc: Loc, field: str, refs: Any, known: Collection[str], what: str
    ) -> None:
        if not isinstance(refs, list):
            return
        seen: set[str] = set()
        for i, name in enumerate(refs):
            if not isinstance(name, str):
                continue
            at = (*loc, field, i)
            if name in seen:
                self._add(self.locator.value(at), at, f"duplicate {what} {name!r}")
            elif name not in known:
                hint = did_you_mean(name, known) or f" ({known_list(known)})"
                self._add(self.locator.value(at), at, f"unknown {what} {name!r}{hint}")
            seen.add(name)

    def _check_approvals(self, loc: Loc, spec: dict[Any, Any]) -> None:
        approvals, tools = spec.get("approvals"), spec.get("tools")
        if not isinstance(approvals, dict):
            return
        own = [t for t in tools if isinstance(t, str)] if isinstance(tools, list) else []
        for name in approvals:
            if isinstance(name, str) and name not in own:
                at = (*loc, "approvals", name)
                hint = did_you_mean(name, own) or f" (its tools: {', '.join(own) or 'none'})"
                message = f"approval for {name!r}, which is not one of this agent's tools{hint}"
                self._add(self.locator.key(at), at, message)

    # -- instructions --------------------------------------------------------------------

    def _instructions(
        self, loc: Loc, spec: dict[Any, Any], vars_: dict[str, str], what: str = "agent"
    ) -> str | None:
        inline, file = spec.get("instructions"), spec.get("instructions_file")
        if inline is not None and file is not None:
            keys = [k for k in spec if k in ("instructions", "instructions_file")]
            at = (*loc, keys[-1])
            message = "set either 'instructions' or 'instructions_file', not both"
            self._add(self.locator.key(at), at, message)
            return None
        if inline is None and file is None:
            message = (
                f"{'a judge ' if what == 'judge' else ''}needs 'instructions' (text) or "
                "'instructions_file' (path to a prompt)"
            )
            self._add(self.locator.key(loc), loc, message)
            return None
        if isinstance(inline, str):
            at = (*loc, "instructions")
            return self._fill(inline, vars_, at, self.file, self._yaml_positions(at))
        if isinstance(file, str) and file:
            at = (*loc, "instructions_file")
            prompt_path = self.source.parent / file
            text = self._read_prompt(prompt_path, at)
            if text is None:
                return None
            prompt_index = TextIndex(text)
            return self._fill(
                text, vars_, at, str(prompt_path), lambda _n, off: prompt_index.position(off)
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

    def _read_prompt(self, prompt_path: Path, at: Loc) -> str | None:
        where = self.locator.value(at)
        try:
            return prompt_path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            siblings = _prompt_siblings(prompt_path.parent)
            hint = did_you_mean(prompt_path.name, siblings)
            self._add(where, at, f"file not found: {prompt_path}{hint}")
        except UnicodeDecodeError as exc:
            self._add(where, at, f"{prompt_path} is not UTF-8 text: {exc.reason}")
        except OSError as exc:
            self._add(where, at, f"cannot read {prompt_path}: {exc.strerror}")
        return None

    def _fill(
        self,
        text: str,
        vars_: dict[str, str],
        at: Loc,
        file: str,
        position: Callable[[int, int], Position],
    ) -> str | None:
        """Check placeholders (reporting each at ``position(n, offset)``), then substitute."""
        before = len(self.issues)
        for n, token in enumerate(scan(text)):
            pos = position(n, token.offset)
            if isinstance(token, BraceError):
                message = f"{token.message}; write '{{{{' or '}}}}' for a literal brace"
                self._add(pos, at, message, file)
            elif isinstance(token, Placeholder) and not token.is_name:
                message = (
                    f"'{{{token.raw}}}' is not a placeholder name; "
                    "write '{{' and '}}' for literal braces"
                )
                self._add(pos, at, message, file)
            elif token.raw in vars_:
                self.used_vars.add(token.raw)
            else:
                hint = did_you_mean(token.raw, vars_) or " (define it under 'vars')"
                self._add(pos, at, f"unknown var {token.raw!r}{hint}", file)
        if len(self.issues) > before:
            return None
        return substitute(text, vars_)

    def _unique(self) -> list[ConfigIssue]:
        return list(dict.fromkeys(self.issues))


# -- helpers ---------------------------------------------------------------------------


def _prompt_siblings(directory: Path) -> Iterable[str]:
    try:
        return [p.name for p in directory.iterdir() if p.is_file()]
    except OSError:
        return []


def _sorted(issues: list[ConfigIssue], main_file: str) -> list[ConfigIssue]:
    # The YAML first (in reading order), then prompt files; the sort is stable, so issues
    # at the same spot keep the order they were found in.
    return sorted(issues, key=lambda i: (i.file != main_file, i.file, i.line, i.column))
