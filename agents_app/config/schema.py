"""Pydantic models for ``config/agents.yaml`` (schema ``version: 1``, see DESIGN.md §4).

The models are strict (``strict.py``); guardrails and tools (approval rules, MCP servers)
have modules of their own.

``AgentsFile`` is the document as written; ``AgentsConfig`` is what ``load_config`` returns:
the same data plus where it came from, with every agent's instructions resolved to text.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from .guardrail_specs import GuardrailRefs, GuardrailSpec
from .strict import Strict
from .tool_specs import ApprovalRule, McpServerSpec

if TYPE_CHECKING:
    # Importing openai-agents costs ~2.5 s; config checks (CLI, editors) should not pay it.
    from agents import ModelSettings

AGENT_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
# MCP server names appear in logs and in tool events (`server`): the same safe alphabet.
MCP_SERVER_NAME_PATTERN = AGENT_ID_PATTERN


def var_to_text(value: Any) -> Any:
    # Placeholders are substituted into text, so numbers and booleans are accepted and
    # rendered the way they were written in YAML (``true``, not Python's ``True``).
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


VarValue = Annotated[str, BeforeValidator(var_to_text)]


class ModelSettingsSpec(Strict):
    """The subset of ``agents.ModelSettings`` a prompt author may set; unset means "default"."""

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, gt=0)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    tool_choice: str | None = None
    parallel_tool_calls: bool | None = None

    def merged_over(self, base: ModelSettingsSpec) -> ModelSettingsSpec:
        """Return ``base`` with every field this spec sets explicitly replaced.

        Uses ``model_fields_set`` rather than "not None" so that ``temperature: null`` in an
        agent can drop a default instead of being silently ignored.
        """
        overrides = {name: getattr(self, name) for name in self.model_fields_set}
        return base.model_copy(update=overrides)

    def to_model_settings(self) -> ModelSettings:
        """Build the openai-agents ``ModelSettings`` (only the fields that are set)."""
        from agents import ModelSettings

        return ModelSettings(**self.model_dump(exclude_none=True))


class PromptSpec(Strict):
    """A prompt saved in Yandex AI Studio (or OpenAI), used by id: Responses API only."""

    id: str = Field(min_length=1, description="The saved prompt's id.")
    version: str | None = Field(
        default=None, min_length=1, description="A version of it; unset means the current one."
    )
    variables: dict[str, VarValue] = Field(
        default={}, description="Values for the saved prompt's variables, by name."
    )

    def to_sdk(self) -> dict[str, Any]:
        """The openai-agents ``Agent.prompt`` value (the Responses API's ``prompt``)."""
        return self.model_dump(exclude_none=True, exclude_defaults=True) | {"id": self.id}


class DefaultsSpec(Strict):
    """Applied to every agent unless the agent overrides it."""

    model: str | None = Field(
        default=None, min_length=1, description="Model for agents that set none."
    )
    model_settings: ModelSettingsSpec = Field(
        default=ModelSettingsSpec(), description="Settings every agent starts from."
    )


class AgentSpec(Strict):
    """One agent. Its id is its key under ``agents:``, not a field."""

    name: str = Field(min_length=1, description="Display name, any language.")
    description: str = Field(
        default="",
        description="What this agent handles, in a sentence or two for people. Agents that "
        "hand off here read it to choose, so name the topics it covers.",
    )
    # Lax only for the container so YAML lists are accepted as tuples; items stay strict.
    keywords: tuple[Annotated[str, Field(min_length=1)], ...] = Field(
        default=(),
        strict=False,
        description="Words and phrases users type for this agent, in every language they "
        "use. Only the offline demo model routes by them; real models never see them (they "
        "read the description).",
    )
    # Exactly one of the two is set in YAML (the loader checks it, with positions); after
    # loading, ``instructions`` holds the final text: file read, ``{vars}`` substituted.
    instructions: str | None = Field(
        default=None,
        description="The prompt. {name} is replaced by vars.name; {{ and }} are literal "
        "braces. Set this or instructions_file, not both.",
    )
    instructions_file: str | None = Field(
        default=None,
        min_length=1,
        description="Path of a prompt file, relative to agents.yaml (e.g. prompts/x.md).",
    )
    # Lax only for the container so YAML lists are accepted as tuples; items stay strict.
    handoffs: tuple[str, ...] = Field(
        default=(), strict=False, description="Ids of agents this one may hand the chat to."
    )
    tools: tuple[str, ...] = Field(
        default=(), strict=False, description="Tool names from the tools registry."
    )
    mcp: tuple[str, ...] = Field(
        default=(),
        strict=False,
        description="Names of MCP servers (under mcp_servers) whose tools this agent gets.",
    )
    approvals: dict[str, ApprovalRule] = Field(
        default={},
        description="Tools of this agent that need a person's yes before they run: `always`, "
        "or a rule on one argument. The run stops with run.interrupted and goes on when a "
        "client answers with run.resume.",
    )
    guardrails: GuardrailRefs = Field(
        default=GuardrailRefs(),
        description="Guardrails of this agent: `input` runs when a turn starts with it, "
        "`output` when its answer is the turn's final one (openai-agents' rule).",
    )
    tool_guardrails: dict[str, GuardrailRefs] = Field(
        default={},
        description="Per tool of this agent: guardrails on the call's arguments (`input`) "
        "and on its result (`output`).",
    )
    model: str | None = Field(
        default=None, min_length=1, description="Overrides defaults.model for this agent."
    )
    prompt: PromptSpec | None = Field(
        default=None,
        description="A prompt saved in AI Studio, used by id (Responses API only). With it, "
        "instructions may be left out: the saved prompt holds them.",
    )
    model_settings: ModelSettingsSpec | None = Field(
        default=None, description="Merged over defaults.model_settings, key by key."
    )


class AgentsFile(Strict):
    """The YAML document as written."""

    version: Literal[1] = Field(description="Schema version of this file.")
    start: str = Field(description="Id of the agent every conversation starts with.")
    resume: Literal["start", "last_agent"] = Field(
        default="start",
        description=(
            "Where a conversation's next turn starts: at `start`, or with the agent that "
            "answered last (so follow-ups stay with the specialist)."
        ),
    )
    on_disconnect: Literal["continue", "cancel"] = Field(
        default="continue",
        description=(
            "What a run does when the client that started it goes away: `continue` (it "
            "finishes, its answer lands in the conversation and its log, and a reconnecting "
            "client joins it with run.join) or `cancel`. AGENTS_ON_DISCONNECT overrides it."
        ),
    )
    multitask: Literal["reject", "enqueue", "interrupt", "rollback"] = Field(
        default="reject",
        description=(
            "What a new message does while the conversation's previous answer is still going: "
            "`reject` it (error busy), `enqueue` it (it is answered when the answers before "
            "it end, in order; AGENTS_MAX_QUEUE bounds how many wait), `interrupt` the "
            "answer (what it said stays in memory) or `rollback` (the interrupted turn is "
            "taken out of memory). A user.message may ask for another with `multitask`."
        ),
    )
    defaults: DefaultsSpec = DefaultsSpec()
    vars: dict[str, VarValue] = Field(
        default={}, description="Values for {name} placeholders in instructions."
    )
    guardrails: dict[str, GuardrailSpec] = Field(
        default={},
        description="Named checks on text, used by run_guardrails, an agent's guardrails or "
        "its tool_guardrails (ids: ASCII snake_case).",
    )
    run_guardrails: GuardrailRefs = Field(
        default=GuardrailRefs(),
        description="Guardrails on every turn, whichever agent starts or answers it.",
    )
    mcp_servers: dict[str, McpServerSpec] = Field(
        default={},
        description="MCP servers by name (ASCII snake_case); agents list them under `mcp`.",
    )
    agents: dict[str, AgentSpec] = Field(
        min_length=1, description="Agents by id (ASCII snake_case); YAML order is kept."
    )


class AgentsConfig(AgentsFile):
    """A loaded, cross-checked agent graph. Agents keep their YAML order."""

    # Configs built in code (tests, embedding) have no file; "<memory>" says so in messages.
    source: Path = Field(default=Path("<memory>"), strict=False)

    @model_validator(mode="after")
    def _check_graph(self) -> AgentsConfig:
        # The loader reports these with file positions before we get here; this guard keeps
        # configs built in code from reaching the graph builder half-resolved.
        problems: list[str] = []
        if self.start not in self.agents:
            problems.append(f"start agent {self.start!r} is not defined")
        for agent_id, spec in self.agents.items():
            problems.extend(
                f"agent {agent_id!r} hands off to undefined agent {target!r}"
                for target in spec.handoffs
                if target not in self.agents
            )
            problems.extend(
                f"agent {agent_id!r} uses undefined MCP server {server!r}"
                for server in spec.mcp
                if server not in self.mcp_servers
            )
            if spec.instructions is None and spec.prompt is None:
                problems.append(f"agent {agent_id!r} has no resolved instructions")
            problems.extend(
                f"agent {agent_id!r} uses undefined guardrail {name!r}"
                for name in _refs(spec.guardrails, *spec.tool_guardrails.values())
                if name not in self.guardrails
            )
        problems.extend(
            f"run_guardrails uses undefined guardrail {name!r}"
            for name in _refs(self.run_guardrails)
            if name not in self.guardrails
        )
        for name, guard in self.guardrails.items():
            problems.extend(f"guardrail {name!r}: {message}" for _, message in guard.problems())
            if guard.kind == "agent" and guard.instructions is None:
                problems.append(f"guardrail {name!r} has no resolved instructions")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def guardrail_users(self) -> dict[str, list[str]]:
        """Guardrail name → where it is attached ("run input", "agent triage output", …)."""
        users: dict[str, list[str]] = {name: [] for name in self.guardrails}
        for stage in ("input", "output"):
            for name in getattr(self.run_guardrails, stage):
                users.setdefault(name, []).append(f"run {stage}")
        for agent_id, spec in self.agents.items():
            for stage in ("input", "output"):
                for name in getattr(spec.guardrails, stage):
                    users.setdefault(name, []).append(f"agent {agent_id} {stage}")
            for tool, refs in spec.tool_guardrails.items():
                for stage in ("input", "output"):
                    for name in getattr(refs, stage):
                        users.setdefault(name, []).append(f"tool {tool} of {agent_id} {stage}")
        return users

    def agent(self, agent_id: str) -> AgentSpec:
        """The agent with this id; ``KeyError`` naming the known ids otherwise."""
        try:
            return self.agents[agent_id]
        except KeyError:
            known = ", ".join(self.agents)
            raise KeyError(f"unknown agent {agent_id!r} (known: {known})") from None

    def instructions_for(self, agent_id: str) -> str:
        """Final instructions text (the validator guarantees it is resolved)."""
        return self.agent(agent_id).instructions or ""

    def model_for(self, agent_id: str) -> str | None:
        """The agent's model, else ``defaults.model``; ``None`` means the provider's default."""
        return self.agent(agent_id).model or self.defaults.model

    def model_settings_spec_for(self, agent_id: str) -> ModelSettingsSpec:
        """``defaults.model_settings`` with the agent's own settings merged over them."""
        own = self.agent(agent_id).model_settings
        base = self.defaults.model_settings
        return base if own is None else own.merged_over(base)

    def model_settings_for(self, agent_id: str) -> ModelSettings:
        """Effective settings as the openai-agents dataclass."""
        return self.model_settings_spec_for(agent_id).to_model_settings()


def _refs(*attachments: GuardrailRefs) -> list[str]:
    return [name for refs in attachments for name in (*refs.input, *refs.output)]
