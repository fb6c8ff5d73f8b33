"""Everything a run needs, built once per process: the graph, the model backend, run settings."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from typing import Any

import structlog
from agents import (
    FunctionTool,
    ModelSettings,
    RunConfig,
    RunContextWrapper,
    set_tracing_disabled,
)
from agents.run_config import ToolErrorFormatterArgs
from agents.tool_context import ToolContext
from agents.tracing import set_trace_provider
from agents.tracing import setup as sdk_tracing_setup
from agents.tracing.provider import DefaultTraceProvider

from agents_app.config import AgentsConfig, load_config
from agents_app.graph import Graph, build_graph
from agents_app.guardrails.verdicts import Trip
from agents_app.mcp.registry import McpServers
from agents_app.memory.history import bounded_history
from agents_app.memory.store import ConversationStore, open_store
from agents_app.models.providers import ModelBackend, build_backend
from agents_app.observe.metrics import Metrics
from agents_app.observe.tracing import Tracing
from agents_app.observe.tracing import configured as traces_configured
from agents_app.protocol.events import ModelInfo, SessionReady
from agents_app.secrets import SECRETS
from agents_app.settings import Settings
from tools import jokes
from tools.errors import ToolFailure
from tools.registry import get_tool, tool_names
from tools.web import aclose as close_web_tools

log = structlog.get_logger("agents_app.engine")
# Protocol revision 2 capabilities this server really has (session.ready.features).
FEATURES = ("join", "approvals", "multitask", "guardrails")
# Listed only on a connection that asked for it (`?batch=1`) and gets it: the client then
# knows arrays may come, and everyone else's greeting stays byte for byte as it was.
BATCH = "batch"


@dataclass
class TurnContext:
    """The SDK run context of one turn: what the translator learns from the SDK's callbacks."""

    tool_errors: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()  # the engine's, beside the process's (agents_app.secrets)
    tool_trips: dict[str, Trip] = field(default_factory=dict)  # calls a guardrail rejected
    judge_run_config: RunConfig | None = None  # where `agent` guardrails' judges run

    def record_tool_error(self, call_id: str, detail: str) -> None:
        self.tool_errors[call_id] = SECRETS.scrub(detail, self.secrets)

    def record_tool_trip(self, call_id: str, trip: Trip) -> None:
        """A tool guardrail rejected this call's content; the run goes on."""
        self.tool_trips[call_id] = trip
        self.record_tool_error(call_id, trip.message)


def _record_tool_error(args: ToolErrorFormatterArgs[Any]) -> str | None:
    context = args.run_context.context
    error = args.error
    if isinstance(error, ToolFailure):
        # A tool's own failure text is written for the model and the user: it says why,
        # so the model can adapt. Scrubbed all the same: it may quote a server's answer.
        detail = SECRETS.scrub(f"{error}", _secrets_of(context))
        reply: str | None = f"Error: {detail}"
    elif error is not None:
        # Anything else is a bug or an internal failure: its text (paths, hosts, queries,
        # credentials) is for the operator's log; the client learns the exception type.
        log.warning(
            "tool.failed",
            tool=args.tool_name,
            call_id=args.call_id,
            error=type(error).__name__,
            exc_info=error,
        )
        detail = f"The tool failed ({type(error).__name__})."
        reply = None  # the model reads the SDK's generic message, which leaks nothing
    else:
        detail, reply = args.default_message or args.kind, None
    if isinstance(context, TurnContext):
        context.record_tool_error(args.call_id, detail)
    return reply


def _secrets_of(context: object) -> tuple[str, ...]:
    return context.secrets if isinstance(context, TurnContext) else ()


def _record_tool_timeout(context: RunContextWrapper[Any], error: Exception) -> str:
    if isinstance(context, ToolContext) and isinstance(context.context, TurnContext):
        context.context.record_tool_error(context.tool_call_id, str(error))
    return str(error)  # what the model reads, as the SDK would say it


def disable_sdk_tracing() -> None:
    """Switch the SDK's tracing off without ever making its OpenAI exporter.

    The SDK's default trace provider comes with an exporter whose HTTP client loads the
    system's CA certificates (≈ 40 ms of a cold start) only to be switched off here. A
    provider of our own with no processors, disabled, costs nothing; `Tracing.install`
    gives it its processor when OTEL_* asks for traces.
    """
    if sdk_tracing_setup.GLOBAL_TRACE_PROVIDER is None:
        set_trace_provider(DefaultTraceProvider())
    set_tracing_disabled(True)


def observed(tool: FunctionTool) -> FunctionTool:
    """`tool`, reporting its timeouts to the run (the SDK's formatter sees only raises)."""
    if tool.timeout_error_function is not None:
        return tool
    copied = copy.copy(tool)  # the registry's tool stays untouched
    copied.timeout_error_function = _record_tool_timeout
    return copied


def graph_for(config: AgentsConfig, settings: Settings, mcp: McpServers | None = None) -> Graph:
    """The one way a config becomes a graph: at start-up and on every hot reload.

    ``mcp`` holds the process's MCP servers (connections outlive graphs); without it the
    graph's agents get no MCP tools.
    """
    return build_graph(
        config,
        get_tool=lambda name: observed(get_tool(name)),
        model_override=settings.model_name,
        mcp_server=mcp.server if mcp is not None else None,
    )


def load_graph(settings: Settings, mcp: McpServers | None = None) -> Graph:
    """Load ``settings.config_path`` and build its graph; ``ConfigError`` if it is broken."""
    config = load_config(
        settings.config_path, tool_names=tool_names(), model_api=settings.model_api
    )
    return graph_for(config, settings, mcp)


@dataclass(eq=False)
class Engine:
    settings: Settings
    # Replaced whole by `swap_graph` (config hot reload), never mutated. A run reads it once
    # at its start and keeps that graph to the end, so a reload only affects new runs.
    graph: Graph
    backend: ModelBackend
    # MCP server connections, shared by every run of the process (or function instance).
    mcp: McpServers = field(default_factory=McpServers)
    _store: ConversationStore | None = field(default=None, repr=False)
    tracing: Tracing | None = None  # only when the OTEL_* variables ask for traces

    @classmethod
    def from_settings(cls, settings: Settings, *, allow_stdio: bool = True) -> Engine:
        """``allow_stdio``: whether stdio MCP servers may be started (not in the function)."""
        # The SDK would otherwise try to export traces to OpenAI, slowly and offline.
        disable_sdk_tracing()
        jokes.seed(settings.jokes_seed)
        # Events are scrubbed of these whether or not logging was configured with them.
        SECRETS.add(settings.secrets())
        tracing = None
        if traces_configured():
            tracing = Tracing(content=settings.trace_content)
            tracing.install()
        mcp = McpServers(allow_stdio=allow_stdio)
        return cls(
            settings=settings,
            graph=load_graph(settings, mcp),
            backend=build_backend(settings),
            mcp=mcp,
            tracing=tracing,
        )

    @property
    def store(self) -> ConversationStore:
        """Conversation memory, opened on first use (a CONNECT or a bad frame never needs it)."""
        if self._store is None:
            settings = self.settings
            self._store = open_store(
                settings.session_store,
                ttl_s=settings.session_ttl_s,
                lock_ttl_s=settings.run_lock_ttl_s,
                log_ttl_s=settings.run_log_ttl_s,
                queue_ttl_s=settings.queue_ttl_s,
                default_dir=settings.data_dir,
            )
        return self._store

    @functools.cached_property
    def metrics(self) -> Metrics:
        """This engine's Prometheus figures (`GET /metrics`)."""
        return Metrics()

    @functools.cached_property
    def secrets(self) -> tuple[str, ...]:
        """The settings' secrets, scrubbed from tool errors (worked out once, not per run)."""
        return tuple(s for s in self.settings.secrets() if len(s) >= 6)

    def swap_graph(self, graph: Graph) -> None:
        """Serve ``graph`` to runs that start from now on (one reference assignment: atomic)."""
        self.graph = graph

    @property
    def on_disconnect(self) -> str:
        """`continue` or `cancel`: the environment's choice, else agents.yaml's."""
        return self.settings.on_disconnect or self.graph.config.on_disconnect

    def run_config(
        self,
        graph: Graph | None = None,
        *,
        trace_id: str | None = None,
        group_id: str | None = None,
    ) -> RunConfig:
        """A run's settings; `graph`'s run-level guardrails apply to it (default: the current
        graph's). `trace_id`: the SDK trace of a traced run (observe.tracing); else none."""
        guardrails = (graph or self.graph).guardrails
        return RunConfig(
            model_provider=self.backend.provider,
            model_settings=self._model_settings(),
            tracing_disabled=trace_id is None,
            trace_id=trace_id,
            group_id=group_id,
            input_guardrails=guardrails.run_input(),
            output_guardrails=guardrails.run_output(),
            tool_error_formatter=_record_tool_error,
            # A model that calls a tool it does not have reads an error and tries again,
            # instead of failing the whole run.
            tool_not_found_behavior="return_error_to_model",
            session_input_callback=bounded_history(self.settings.history_items),
            workflow_name="agents-app",
        )

    def judge_run_config(self) -> RunConfig:
        """Where guardrail judges run: the same models, none of a turn's guardrails (a judge
        is not judged) and no session (a verdict is not part of the conversation). Traced, a
        judge's model call nests in the run's trace under its guardrail."""
        return RunConfig(
            model_provider=self.backend.provider,
            model_settings=self._model_settings(),
            tracing_disabled=self.tracing is None,
            workflow_name="agents-app guardrail",
        )

    def _model_settings(self) -> ModelSettings | None:
        return ModelSettings(include_usage=True) if self.backend.include_usage else None

    @property
    def model_info(self) -> ModelInfo:
        start = self.graph.agent(None)
        name = start.model if isinstance(start.model, str) else "default"
        return ModelInfo(provider=self.backend.kind, name=name)

    def session_ready(self, conversation_id: str, *, batch: bool = False) -> SessionReady:
        return SessionReady(
            conversation_id=conversation_id,
            agents=self.graph.infos,
            start_agent=self.graph.start,
            model=self.model_info,
            features=[*FEATURES, BATCH] if batch else list(FEATURES),
        )

    async def aclose(self) -> None:
        await self.mcp.aclose()
        await self.backend.provider.aclose()
        if self._store is not None:
            await self._store.aclose()
        await close_web_tools()
        if self.tracing is not None:
            self.tracing.shutdown()  # exports what is still batched
