"""agents.yaml → openai-agents `Agent`s wired with handoffs. No agent is defined in Python."""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agents import Agent, FunctionTool, handoff
from agents.extensions.handoff_prompt import prompt_with_handoff_instructions
from agents.mcp import MCPServer

from agents_app.approvals import policy
from agents_app.config import AgentsConfig
from agents_app.config.tool_specs import ApprovalRule, McpServerSpec
from agents_app.guardrails.sdk import Guardrails
from agents_app.models.routing import with_keywords
from agents_app.protocol.events import AgentInfo


@dataclass(frozen=True)
class Graph:
    agents: dict[str, Agent[Any]]  # by id, in YAML order
    infos: list[AgentInfo]
    start: str
    _ids: dict[int, str]  # id(Agent) → agent id; Agent.name is the display name
    config: AgentsConfig  # what it was built from (the graph view draws it)
    guardrails: Guardrails  # run-level ones go into each run's RunConfig

    @property
    def resume(self) -> str:
        return self.config.resume

    @functools.cached_property
    def fingerprint(self) -> str:
        """Changes whenever the config does: a run paused under one graph resumes under it only."""
        return hashlib.sha256(self.config.model_dump_json().encode()).hexdigest()[:16]

    def id_of(self, agent: Agent[Any]) -> str:
        return self._ids.get(id(agent), agent.name)

    def agent(self, agent_id: str | None) -> Agent[Any]:
        return self.agents[agent_id or self.start]

    def mcp_server_of(self, agent_id: str, tool: str) -> str | None:
        """The MCP server a tool of this agent comes from; None for its Python tools."""
        agent = self.agents.get(agent_id)
        if agent is None:
            return None
        if any(getattr(t, "name", None) == tool for t in agent.tools):
            return None  # a Python tool wins, as it does in the SDK's tool list order
        for server in agent.mcp_servers:
            if tool in getattr(server, "tool_names", ()):
                return server.name
        return None


def _for_agent(
    tool: FunctionTool, rule: ApprovalRule | None, guardrails: Guardrails, agent_id: str
) -> FunctionTool:
    """`tool` with this agent's approval rule and tool guardrails (a copy: the registry's
    tool stays as it is, and another agent's use of it is unaffected)."""
    checks_in = guardrails.tool_input(agent_id, tool.name)
    checks_out = guardrails.tool_output(agent_id, tool.name)
    if rule is None and not checks_in and not checks_out:
        return tool
    copied = copy.copy(tool)
    if rule is not None:
        copied.needs_approval = policy(rule)
    if checks_in:
        copied.tool_input_guardrails = [*(tool.tool_input_guardrails or []), *checks_in]
    if checks_out:
        copied.tool_output_guardrails = [*(tool.tool_output_guardrails or []), *checks_out]
    return copied


def build_graph(
    config: AgentsConfig,
    *,
    get_tool: Callable[[str], FunctionTool],
    model_override: str | None = None,
    mcp_server: Callable[[str, McpServerSpec], MCPServer] | None = None,
) -> Graph:
    """``mcp_server`` gives the (shared, long-lived) server for an ``mcp_servers`` entry;
    without it, agents get no MCP tools (config checks, drawings)."""
    guardrails = Guardrails.build(config, model_override=model_override)
    servers = (
        {name: mcp_server(name, spec) for name, spec in config.mcp_servers.items()}
        if mcp_server is not None
        else {}
    )
    agents: dict[str, Agent[Any]] = {}
    for agent_id, spec in config.agents.items():
        instructions = spec.instructions or ""
        agents[agent_id] = Agent(
            name=spec.name,
            handoff_description=spec.description or None,
            instructions=(
                prompt_with_handoff_instructions(instructions)
                if spec.handoffs
                else instructions or None  # None: a saved prompt's own instructions stand
            ),
            tools=[
                _for_agent(get_tool(name), spec.approvals.get(name), guardrails, agent_id)
                for name in spec.tools
            ],
            mcp_servers=[servers[name] for name in spec.mcp if name in servers],
            model=model_override or config.model_for(agent_id),
            model_settings=config.model_settings_for(agent_id),
            prompt=spec.prompt.to_sdk() if spec.prompt else None,  # type: ignore[arg-type]
            input_guardrails=guardrails.agent_input(agent_id),
            output_guardrails=guardrails.agent_output(agent_id),
        )
    # Handoffs need every target built first. Tool names come from the ASCII id: the SDK
    # would derive them from the display name, and non-ASCII names all collide.
    for agent_id, spec in config.agents.items():
        agents[agent_id].handoffs = [
            with_keywords(
                handoff(agents[target], tool_name_override=f"transfer_to_{target}"),
                config.agents[target].keywords,
            )
            for target in spec.handoffs
        ]
    return Graph(
        agents=agents,
        infos=[
            AgentInfo(id=agent_id, name=spec.name, description=spec.description or "")
            for agent_id, spec in config.agents.items()
        ],
        start=config.start,
        _ids={id(agent): agent_id for agent_id, agent in agents.items()},
        config=config,
        guardrails=guardrails,
    )
