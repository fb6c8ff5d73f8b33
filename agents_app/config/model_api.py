"""Checks that depend on the model API the service calls (AGENTS_PROVIDER, AGENTS_API).

What a provider refuses with a 400 at run time is said here, at validate time, with the
line to change: a saved `prompt` outside the Responses API, and a `tool_choice` the API or
the agent cannot honour.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigIssue, did_you_mean
from .positions import Loc, YamlLocator, format_path

# What every API takes besides a tool's name (openai-agents' ModelSettings.tool_choice).
TOOL_CHOICE_MODES = ("auto", "none", "required")


@dataclass(frozen=True)
class ModelApi:
    """Which backend and API the agents will be run with."""

    provider: str  # "offline" | "yandex" | "openai"
    api: str  # "responses" | "chat_completions"

    @property
    def takes_saved_prompts(self) -> bool:
        # The offline demo model reads no prompts at all, so it runs such a config as is.
        return self.provider == "offline" or self.api == "responses"

    @property
    def tool_choices(self) -> tuple[str, ...] | None:
        """The only tool_choice values this API takes, or None for any."""
        if self.provider == "yandex" and self.api == "chat_completions":
            return ("auto", "none")  # AI Studio's documented limit
        return None


def model_api_issues(
    plain: Mapping[Any, Any], locator: YamlLocator, file: str, model_api: ModelApi | None
) -> Iterator[ConfigIssue]:
    """Errors for a parsed document; ``model_api`` None checks only what holds for any API."""

    def issue(loc: Loc, message: str, *, at_key: bool = False) -> ConfigIssue:
        pos = locator.key(loc) if at_key else locator.value(loc)
        return ConfigIssue(file, pos.line, pos.column, format_path(loc), message)

    agents = plain.get("agents")
    if not isinstance(agents, dict):
        return
    default = _tool_choice(plain.get("defaults"))
    for agent_id, spec in agents.items():
        if not isinstance(agent_id, str) or not isinstance(spec, dict):
            continue
        loc: Loc = ("agents", agent_id)
        if "prompt" in spec and model_api is not None and not model_api.takes_saved_prompts:
            yield issue(
                (*loc, "prompt"),
                "a saved prompt is used through the Responses API only, and AGENTS_API is "
                "chat_completions: unset AGENTS_API (responses is the default) or remove "
                "'prompt' and write the instructions here",
                at_key=True,
            )
        own = _tool_choice(spec)
        value = own.value if own.set else default.value
        problem = _tool_choice_problem(value, spec, model_api) if value is not None else None
        if problem is None:
            continue
        if own.set:
            yield issue((*loc, "model_settings", "tool_choice"), problem)
        else:
            where = ("defaults", "model_settings", "tool_choice")
            yield issue(where, f"{problem} (inherited by agent {agent_id!r})")


@dataclass(frozen=True)
class _Choice:
    set: bool  # written in this mapping (null included: it drops the default)
    value: str | None


def _tool_choice(holder: Any) -> _Choice:
    settings = holder.get("model_settings") if isinstance(holder, dict) else None
    if not isinstance(settings, dict) or "tool_choice" not in settings:
        return _Choice(False, None)
    value = settings["tool_choice"]
    return _Choice(True, value if isinstance(value, str) else None)


def _tool_choice_problem(
    value: str, spec: Mapping[Any, Any], model_api: ModelApi | None
) -> str | None:
    allowed = model_api.tool_choices if model_api is not None else None
    if allowed is not None and value not in allowed:
        return (
            f"tool_choice {value!r}: AI Studio's Chat Completions API takes only "
            f"{' or '.join(allowed)}; use one of them, or the Responses API (unset AGENTS_API)"
        )
    if value in TOOL_CHOICE_MODES or spec.get("mcp"):
        return None  # an MCP server's tool names are known only once it is listed
    handoffs = [f"transfer_to_{target}" for target in _strings(spec.get("handoffs"))]
    names = [*_strings(spec.get("tools")), *handoffs]
    if value in names:
        return None
    hint = did_you_mean(value, [*TOOL_CHOICE_MODES, *names])
    if not hint:
        hint = f" (its tools: {', '.join(names) or 'none'})"
    modes = ", ".join(TOOL_CHOICE_MODES)
    return f"tool_choice {value!r} is neither {modes} nor one of this agent's tools{hint}"


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
