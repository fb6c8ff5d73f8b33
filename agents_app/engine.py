"""Everything a run needs, built once per process: the graph, the model backend, run settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents import ModelSettings, RunConfig, set_tracing_disabled
from agents.run_config import ToolErrorFormatterArgs

from agents_app.config import load_config
from agents_app.graph import Graph, build_graph
from agents_app.models.providers import ModelBackend, build_backend
from agents_app.protocol.events import ModelInfo, SessionReady
from agents_app.settings import Settings
from tools import jokes
from tools.registry import get_tool, tool_names


@dataclass
class TurnContext:
    """The SDK run context of one turn: what the translator learns from the SDK's callbacks."""

    tool_errors: dict[str, str] = field(default_factory=dict)


def _record_tool_error(args: ToolErrorFormatterArgs[Any]) -> str | None:
    context = args.run_context.context
    if isinstance(context, TurnContext):
        detail = str(args.error) if args.error else args.default_message
        context.tool_errors[args.call_id] = detail or args.kind
    return None  # the SDK's own message is what the model reads


@dataclass(frozen=True)
class Engine:
    settings: Settings
    graph: Graph
    backend: ModelBackend

    @classmethod
    def from_settings(cls, settings: Settings) -> Engine:
        # The SDK would otherwise try to export traces to OpenAI, slowly and offline.
        set_tracing_disabled(True)
        jokes.seed(settings.jokes_seed)
        config = load_config(settings.config_path, tool_names=tool_names())
        graph = build_graph(config, get_tool=get_tool, model_override=settings.model_name)
        return cls(settings=settings, graph=graph, backend=build_backend(settings))

    def run_config(self) -> RunConfig:
        return RunConfig(
            model_provider=self.backend.provider,
            model_settings=ModelSettings(include_usage=True)
            if self.backend.include_usage
            else None,
            tracing_disabled=True,
            tool_error_formatter=_record_tool_error,
            workflow_name="agents-app",
        )

    @property
    def model_info(self) -> ModelInfo:
        start = self.graph.agent(None)
        name = start.model if isinstance(start.model, str) else "default"
        return ModelInfo(provider=self.backend.kind, name=name)

    def session_ready(self, conversation_id: str) -> SessionReady:
        return SessionReady(
            conversation_id=conversation_id,
            agents=self.graph.infos,
            start_agent=self.graph.start,
            model=self.model_info,
        )

    async def aclose(self) -> None:
        await self.backend.provider.aclose()
