"""Pydantic models for ``config/agents.yaml`` (schema ``version: 1``, see DESIGN.md §4).

The models are strict: YAML that *looks* right but is not (``temperature: "0.3"``,
``parallel_tool_calls: yes``) is rejected rather than coerced, because a prompt author
reading the file should see exactly what the service runs with.

``AgentsFile`` is the document as written; ``AgentsConfig`` is what ``load_config`` returns:
the same data plus where it came from, with every agent's instructions resolved to text.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ModelSettingsSpec(_Strict):
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


class PromptSpec(_Strict):
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


class DefaultsSpec(_Strict):
    """Applied to every agent unless the agent overrides it."""

    model: str | None = Field(
        default=None, min_length=1, description="Model for agents that set none."
    )
    model_settings: ModelSettingsSpec = Field(
        default=ModelSettingsSpec(), description="Settings every agent starts from."
    )


class ArgumentRule(_Strict):
    """Ask for approval depending on one argument of the call (exactly one condition)."""

    argument: str = Field(min_length=1, description="The tool argument the rule reads.")
    domain_not_in: tuple[Annotated[str, Field(min_length=1)], ...] | None = Field(
        default=None,
        strict=False,
        description="Ask unless the argument is an http(s) URL whose host is one of these "
        "domains or a subdomain of one (e.g. [wikipedia.org]).",
    )
    not_in: tuple[str, ...] | None = Field(
        default=None,
        strict=False,
        description="Ask unless the argument's value is exactly one of these.",
    )

    @model_validator(mode="after")
    def _one_condition(self) -> ArgumentRule:
        if (self.domain_not_in is None) == (self.not_in is None):
            raise ValueError("set exactly one of 'domain_not_in' or 'not_in'")
        return self


ApprovalRule = Literal["always"] | ArgumentRule

GuardrailKind = Literal["regex", "keywords", "max_length", "agent"]
# Which fields belong to which kind: the loader reports a missing or foreign one at its key.
GUARDRAIL_FIELDS: dict[str, tuple[str, ...]] = {
    "regex": ("pattern",),
    "keywords": ("words",),
    "max_length": ("max_chars",),
    "agent": ("instructions", "instructions_file", "model", "timeout_s"),
}
GUARDRAIL_REQUIRED: dict[str, tuple[str, ...]] = {
    "regex": ("pattern",),
    "keywords": ("words",),
    "max_length": ("max_chars",),
    "agent": (),  # instructions or instructions_file: checked like an agent's
}


class GuardrailSpec(_Strict):
    """A named check on text. Its name is its key under ``guardrails:``, not a field.

    One flat model rather than a union per kind, so a misplaced field is reported as
    "`pattern` belongs to regex guardrails" at its own key instead of a union's noise.
    """

    kind: GuardrailKind = Field(
        description="regex: trips when `pattern` matches; keywords: when one of `words` "
        "appears (whole words, any case); max_length: when the text is longer than "
        "`max_chars`; agent: a small judge agent decides, with a reason."
    )
    description: str = Field(default="", description="What it checks, for people (/graph).")
    message: str | None = Field(
        default=None,
        min_length=1,
        description="What the user is told when it trips (never the judge's reasoning).",
    )
    blocking: bool = Field(
        default=False,
        description="Input guardrails: the model waits until this check passes. Otherwise "
        "the check runs beside the model, which is cut short if it trips.",
    )
    mode: Literal["buffer", "stream"] = Field(
        default="buffer",
        description="Text the check has not passed yet (the answer, for an output "
        "guardrail; anything said while a parallel input check runs): `buffer` holds it "
        "back until the check passes; `stream` shows it at once and withdraws it "
        "(message.retracted) if the check trips.",
    )
    on_trip: Literal["stop", "reject"] = Field(
        default="stop",
        description="`stop` ends the run (run.failed, code guardrail). Tool guardrails only: "
        "`reject` replaces the call's arguments or result with the message, and the run "
        "goes on.",
    )
    pattern: str | None = Field(
        default=None, min_length=1, description="regex: a Python regular expression."
    )
    words: tuple[Annotated[str, Field(min_length=1)], ...] | None = Field(
        default=None,
        strict=False,
        min_length=1,
        description="keywords: words or phrases that trip it (whole words, any case).",
    )
    max_chars: int | None = Field(default=None, gt=0, description="max_length: the limit.")
    instructions: str | None = Field(
        default=None,
        description="agent: the judge's prompt; it answers allowed true/false and a reason. "
        "{name} placeholders as in agents. Set this or instructions_file.",
    )
    instructions_file: str | None = Field(
        default=None, min_length=1, description="agent: path of the judge's prompt file."
    )
    model: str | None = Field(
        default=None,
        min_length=1,
        description="agent: the judge's model (else defaults.model).",
    )
    timeout_s: float | None = Field(
        default=None,
        gt=0,
        description="agent: seconds the judge may take (default 15); a judge that fails or "
        "runs out of time fails the run (fail closed).",
    )

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) for fields that do not fit this kind."""
        found: list[tuple[str, str]] = []
        for kind, names in GUARDRAIL_FIELDS.items():
            if kind == self.kind:
                continue
            found.extend(
                (name, f"{name!r} belongs to {kind} guardrails, not {self.kind}")
                for name in names
                if name in self.model_fields_set and getattr(self, name) is not None
            )
        found.extend(
            (name, f"a {self.kind} guardrail needs {name!r}")
            for name in GUARDRAIL_REQUIRED[self.kind]
            if getattr(self, name) is None
        )
        return found


class GuardrailRefs(_Strict):
    """Guardrails (by name) on the text going in and coming out."""

    input: tuple[str, ...] = Field(
        default=(), strict=False, description="Checked before (or while) the model reads it."
    )
    output: tuple[str, ...] = Field(
        default=(), strict=False, description="Checked before the answer counts as given."
    )


class McpToolsSpec(_Strict):
    """Which of a server's tools its agents get (names as the server lists them)."""

    allow: tuple[Annotated[str, Field(min_length=1)], ...] | None = Field(
        default=None,
        strict=False,
        description="Only these tools (unset: every tool the server lists). Also what an "
        "agent is offered while the server cannot be reached, so calls get a clear error.",
    )
    deny: tuple[Annotated[str, Field(min_length=1)], ...] = Field(
        default=(), strict=False, description="Never these tools."
    )


class McpServerSpec(_Strict):
    """An MCP server whose tools agents can use (`mcp: [name]` on the agent).

    Strings in `url`, `headers`, `args` and `env` may name environment variables as
    `${NAME}` (write `$$` for a literal `$`): secrets stay out of the YAML, and their values
    are kept out of logs and events.
    """

    transport: Literal["streamable_http", "stdio"] = Field(
        description="`streamable_http` (a URL) or `stdio` (a command this service starts; "
        "local runs only, not in the Cloud Function)."
    )
    url: str | None = Field(
        default=None, min_length=1, description="streamable_http: the server's endpoint URL."
    )
    headers: dict[str, str] = Field(
        default={},
        description="streamable_http: HTTP headers sent with every request, e.g. "
        "`Authorization: Bearer ${NOTES_TOKEN}`.",
    )
    command: str | None = Field(
        default=None,
        min_length=1,
        description="stdio: the program to start (`python` means the interpreter this "
        "service runs on).",
    )
    args: tuple[str, ...] = Field(default=(), strict=False, description="stdio: its arguments.")
    env: dict[str, str] = Field(
        default={}, description="stdio: environment variables added for the program."
    )
    timeout: float = Field(
        default=10,
        gt=0,
        le=600,
        description="Seconds to wait for the server to connect or answer one request.",
    )
    tools: McpToolsSpec = Field(default=McpToolsSpec(), description="Allow / deny lists.")
    cache_tools_list: bool = Field(
        default=False,
        description="Ask for the tool list once and keep it (faster; a server whose tools "
        "change needs a restart). Otherwise it is asked at every model turn.",
    )
    approvals: dict[str, ApprovalRule] = Field(
        default={},
        description="Tools of this server that need a person's yes before they run, as in "
        "an agent's `approvals`: `always`, or a rule on one argument.",
    )


class AgentSpec(_Strict):
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


class AgentsFile(_Strict):
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
