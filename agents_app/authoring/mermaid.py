"""The agent graph as a Mermaid flowchart: agents, handoffs, tools; the start agent marked.

Mermaid renders in GitHub and GitLab markdown, most wikis and mermaid.live, so a reviewer
can paste the output of ``agents-app graph`` next to a config change and see the graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from agents_app.config import AgentsConfig
from agents_app.config.checks import reachable_from
from agents_app.config.guardrail_specs import GuardrailSpec
from agents_app.config.tool_specs import ApprovalRule, ArgumentRule, McpServerSpec
from agents_app.secrets import redact_url


@dataclass(frozen=True, slots=True)
class GuardrailRow:
    """One guardrail as the graph page lists it, in words."""

    name: str
    kind: str
    checks: str  # what trips it
    used_by: tuple[str, ...]  # "run input", "agent triage input", …
    how: str  # blocking or parallel, buffer or stream, stop or reject
    description: str

    @classmethod
    def of(cls, name: str, spec: GuardrailSpec, used_by: list[str]) -> GuardrailRow:
        if spec.kind == "regex":
            checks = f"matches {spec.pattern}"
        elif spec.kind == "keywords":
            checks = f"contains one of {', '.join(spec.words or ())}"
        elif spec.kind == "max_length":
            checks = f"longer than {spec.max_chars} characters"
        else:
            checks = f"a judge ({spec.model or 'default model'}) says no"
        how = [
            "blocking" if spec.blocking else "parallel",
            spec.mode,
            "rejects the call" if spec.on_trip == "reject" else "stops the run",
        ]
        return cls(name, spec.kind, checks, tuple(used_by), ", ".join(how), spec.description)


@dataclass(frozen=True, slots=True)
class McpView:
    """An MCP server as drawn: where it is, its tools, whether the service reaches it."""

    transport: str
    target: str  # the URL (passwords redacted, `${NAME}` unexpanded) or the command line
    tools: tuple[str, ...]
    status: str

    @classmethod
    def of(
        cls, spec: McpServerSpec, tools: tuple[str, ...] | None = None, status: str | None = None
    ) -> McpView:
        """From the config alone (tools: the allow list), unless the live ones are given."""
        if spec.transport == "streamable_http":
            target = redact_url(spec.url or "")
        else:
            target = " ".join([spec.command or "", *spec.args])
        allowed = tuple(t for t in spec.tools.allow or () if t not in spec.tools.deny)
        return cls(
            transport=spec.transport,
            target=target,
            tools=allowed if tools is None else tools,
            status=status or "not connected here (the running server's /graph shows it)",
        )


@dataclass(frozen=True, slots=True)
class GraphShape:
    """What a drawing of the graph needs, without the SDK: ids, edges, tools, reachability."""

    start: str
    names: dict[str, str]  # agent id → display name, in YAML order
    handoffs: dict[str, tuple[str, ...]]
    tools: dict[str, tuple[str, ...]]
    descriptions: dict[str, str]
    reachable: tuple[str, ...]  # in breadth-first order from start
    approvals: dict[str, dict[str, str]]  # agent id → tool → when it asks, in words
    guardrails: tuple[GuardrailRow, ...] = ()  # in YAML order
    mcp: dict[str, tuple[str, ...]] = field(default_factory=dict)  # agent id → MCP servers
    mcp_servers: dict[str, McpView] = field(default_factory=dict)

    @classmethod
    def of(cls, config: AgentsConfig, live: Mapping[str, McpView] | None = None) -> GraphShape:
        """``live``: MCP servers as the running service sees them (tools listed, status)."""
        handoffs = {agent_id: spec.handoffs for agent_id, spec in config.agents.items()}
        users = config.guardrail_users()
        servers = {
            name: (live or {}).get(name) or McpView.of(spec)
            for name, spec in config.mcp_servers.items()
        }
        return cls(
            start=config.start,
            names={agent_id: spec.name for agent_id, spec in config.agents.items()},
            handoffs=handoffs,
            tools={agent_id: spec.tools for agent_id, spec in config.agents.items()},
            descriptions={a: " ".join(s.description.split()) for a, s in config.agents.items()},
            reachable=tuple(reachable_from(config.start, handoffs)),
            approvals={
                agent_id: {tool: describe(rule) for tool, rule in spec.approvals.items()}
                for agent_id, spec in config.agents.items()
            },
            guardrails=tuple(
                GuardrailRow.of(name, spec, users[name]) for name, spec in config.guardrails.items()
            ),
            mcp={agent_id: spec.mcp for agent_id, spec in config.agents.items()},
            mcp_servers=servers,
        )

    def asks(self, agent_id: str, tool: str) -> str | None:
        """When this agent's call of `tool` waits for a person's yes, in words; else None."""
        return self.approvals.get(agent_id, {}).get(tool)

    @property
    def all_tools(self) -> list[str]:
        return list(dict.fromkeys(t for tools in self.tools.values() for t in tools))


def agent_node(agent_id: str) -> str:
    # Prefixed: ids like "end" or "graph" are Mermaid keywords.
    return f"agent_{agent_id}"


def tool_node(tool: str) -> str:
    return f"tool_{tool}"


def mcp_node(server: str) -> str:
    return f"mcp_{server}"


def _label(text: str) -> str:
    # Inside "…" labels Mermaid understands entity codes; a raw quote would end the label.
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")


def to_mermaid(shape: GraphShape, *, title: str | None = None) -> str:
    """Flowchart text: ``flowchart LR`` with a start marker, handoff and tool edges."""
    lines = ["flowchart LR"]
    if title:
        lines.append(f"  %% {title}")
    lines.append("  start((start))")
    for agent_id, name in shape.names.items():
        label = _label(name)
        if name.casefold() != agent_id.casefold():
            label += f"<br/>({agent_id})"  # the id is what handoffs and YAML refer to
        lines.append(f'  {agent_node(agent_id)}["{label}"]')
    for tool in shape.all_tools:
        lines.append(f'  {tool_node(tool)}{{{{"{_label(tool)}"}}}}')
    for server, view in shape.mcp_servers.items():
        listed = ", ".join(view.tools) or "tools unknown"
        lines.append(f'  {mcp_node(server)}[("{_label(server)} (MCP)<br/>{_label(listed)}")]')
    lines.append(f"  start --> {agent_node(shape.start)}")
    for agent_id, targets in shape.handoffs.items():
        lines.extend(
            f"  {agent_node(agent_id)} -->|handoff| {agent_node(target)}"
            for target in targets
            if target in shape.names
        )
    for agent_id, tools in shape.tools.items():
        for tool in tools:
            edge = "tool, needs approval" if shape.asks(agent_id, tool) else "tool"
            lines.append(f"  {agent_node(agent_id)} -.->|{edge}| {tool_node(tool)}")
    for agent_id, servers in shape.mcp.items():
        lines.extend(f"  {agent_node(agent_id)} -.->|mcp| {mcp_node(server)}" for server in servers)
    lines.append("  classDef start fill:#fff3c4,stroke:#b58900,stroke-width:3px")
    lines.append("  classDef tool fill:#eef6ee,stroke:#4c8c4a")
    lines.append("  classDef unreachable fill:#f4f4f4,stroke:#999,stroke-dasharray:4 3")
    lines.append(f"  class {agent_node(shape.start)} start")
    if shape.all_tools:
        lines.append(f"  class {','.join(map(tool_node, shape.all_tools))} tool")
    if shape.mcp_servers:
        lines.append("  classDef mcp fill:#f3eefb,stroke:#6a4ca5")
        lines.append(f"  class {','.join(map(mcp_node, shape.mcp_servers))} mcp")
    lost = [a for a in shape.names if a not in shape.reachable]
    if lost:
        lines.append(f"  class {','.join(map(agent_node, lost))} unreachable")
    return "\n".join(lines) + "\n"


def describe(rule: ApprovalRule) -> str:
    """An approval rule as a prompt author reads it."""
    if not isinstance(rule, ArgumentRule):
        return "always"
    if rule.domain_not_in is not None:
        return f"unless {rule.argument} is on {', '.join(rule.domain_not_in)}"
    return f"unless {rule.argument} is one of {', '.join(rule.not_in or ())}"
