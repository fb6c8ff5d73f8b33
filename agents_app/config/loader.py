"""Load ``agents.yaml``: parse, validate, cross-check, resolve instructions.

Every problem is collected (not just the first) and reported as ``file:line:column``,
because prompt authors fix configs in an editor, not by reading tracebacks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
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
from .positions import (
    START,
    Loc,
    Position,
    TextIndex,
    YamlLocator,
    format_path,
    to_plain,
)
from .prompts import Prompts
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
        prompts = Prompts(
            self.source, self.index, self.locator, self._vars(plain.get("vars")), self._add
        )
        guards = plain.get("guardrails") if isinstance(plain.get("guardrails"), dict) else {}
        judges, judges_read = self._check_guardrails(guards, prompts)
        self._check_guardrail_refs(("run_guardrails",), plain.get("run_guardrails"), guards)
        servers = plain.get("mcp_servers") if isinstance(plain.get("mcp_servers"), dict) else {}
        errors, self.mcp_warnings = mcp_issues(
            servers, agents, self.locator, self.file, self.environ
        )
        self.issues.extend(errors)
        instructions = self._check_agents(agents, prompts, guards, servers)
        self.issues.extend(model_api_issues(plain, self.locator, self.file, self.model_api))
        # Which vars are used is only known once every prompt (agents', judges') was read.
        all_read = judges_read and len(instructions) == sum(isinstance(k, str) for k in agents)
        used = prompts.used_vars if all_read else None
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
        self, guards: Mapping[Any, Any], prompts: Prompts
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
                text = prompts.read(loc, spec, what="judge")
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
        prompts: Prompts,
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
            text = prompts.read(loc, spec)
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

    def _unique(self) -> list[ConfigIssue]:
        return list(dict.fromkeys(self.issues))


# -- helpers ---------------------------------------------------------------------------


def _sorted(issues: list[ConfigIssue], main_file: str) -> list[ConfigIssue]:
    # The YAML first (in reading order), then prompt files; the sort is stable, so issues
    # at the same spot keep the order they were found in.
    return sorted(issues, key=lambda i: (i.file != main_file, i.file, i.line, i.column))
