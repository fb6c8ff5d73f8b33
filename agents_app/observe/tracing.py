"""Traces: each run as OpenTelemetry spans, exported over OTLP.

The SDK's own extension point does the work — a `TracingProcessor` receives its agent,
model, tool, handoff and guardrail spans, and this module re-creates them as OpenTelemetry
spans under one root span per run (ours, so the run's trace id is known before the SDK
starts and can reach the client on `run.started`). The SDK's upload to OpenAI is never
installed. Attribute names follow the OpenTelemetry GenAI semantic conventions
(`gen_ai.*`); ours are `agents_app.*`.

Off unless the standard variables name an endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); off, no provider, exporter or processor exists and
the SDK's tracing stays disabled, so a run spends nothing on it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agents import set_trace_processors, set_tracing_disabled
from agents.tracing import Span as SdkSpan
from agents.tracing import Trace as SdkTrace
from agents.tracing import TracingProcessor
from agents.tracing.span_data import (
    AgentSpanData,
    FunctionSpanData,
    GenerationSpanData,
    GuardrailSpanData,
    HandoffSpanData,
    ResponseSpanData,
    TaskSpanData,
    TurnSpanData,
)
from opentelemetry import trace as otel
from opentelemetry.context import Context
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from agents_app.secrets import SECRETS

SERVICE = "agents-app"
_PROPAGATOR = TraceContextTextMapPropagator()


def configured(env: Mapping[str, str] = os.environ) -> bool:
    """Whether the OTEL_* variables ask for traces."""
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "otlp").lower() == "none":
        return False
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


@dataclass
class RunSpan:
    """The root span of one run while it goes."""

    span: otel.Span
    sdk_trace_id: str  # the id the SDK's trace carries, so its spans find this root

    @property
    def trace_id(self) -> str:
        return f"{self.span.get_span_context().trace_id:032x}"


class Tracing:
    """One process's traces: the provider, its exporter and the SDK processor."""

    def __init__(self, *, content: bool, exporter: SpanExporter | None = None) -> None:
        resource = Resource.create({"service.name": SERVICE}).merge(OTELResourceDetector().detect())
        self.provider = TracerProvider(resource=resource)
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()  # endpoint, headers, timeout: from OTEL_* variables
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("agents_app")
        self.processor = SpanBridge(self.tracer, content=content)

    def install(self) -> None:
        """Route the SDK's spans here (and nowhere else: not to OpenAI)."""
        set_trace_processors([self.processor])
        set_tracing_disabled(False)

    @contextmanager
    def run(
        self,
        *,
        run_id: str,
        conversation_id: str,
        agent: str,
        traceparent: str | None,
        agent_ids: Mapping[str, str],
    ) -> Iterator[RunSpan]:
        """The run's root span; `agent_ids` maps the SDK's agent names to our agent ids."""
        parent = _PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else Context()
        span = self.tracer.start_span(
            f"invoke_agent {agent}",
            context=parent,
            kind=otel.SpanKind.SERVER,
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": agent,
                "gen_ai.conversation.id": conversation_id,
                "agents_app.run_id": run_id,
            },
        )
        root = RunSpan(span, f"trace_{span.get_span_context().trace_id:032x}")
        self.processor.roots[root.sdk_trace_id] = (span, agent_ids)
        try:
            yield root
        finally:
            self.processor.roots.pop(root.sdk_trace_id, None)
            span.end()

    def flush(self, timeout_ms: int = 5000) -> bool:
        return self.provider.force_flush(timeout_ms)

    def shutdown(self) -> None:
        self.provider.shutdown()


def ended(
    root: RunSpan, outcome: str, *, code: str | None = None, first_delta_ms: int | None = None
) -> None:
    """The run's outcome on its root span."""
    span = root.span
    span.set_attribute("agents_app.run.outcome", outcome)
    if first_delta_ms is not None:
        span.set_attribute("agents_app.time_to_first_delta_ms", first_delta_ms)
    if outcome == "failed":
        span.set_attribute("error.type", code or "error")
        span.set_status(Status(StatusCode.ERROR, code))


class SpanBridge(TracingProcessor):
    """The SDK's spans → OpenTelemetry spans, parented as the SDK nests them."""

    def __init__(self, tracer: otel.Tracer, *, content: bool) -> None:
        self._tracer = tracer
        self._content = content
        # SDK trace id → the run's root span, and the SDK's agent names → our agent ids.
        self.roots: dict[str, tuple[otel.Span, Mapping[str, str]]] = {}
        self._open: dict[str, otel.Span] = {}  # SDK span id → its OpenTelemetry span

    def on_trace_start(self, trace: SdkTrace) -> None:
        return None  # the run's root span was started by `Tracing.run`

    def on_trace_end(self, trace: SdkTrace) -> None:
        return None

    def on_span_start(self, span: SdkSpan[Any]) -> None:
        run = self.roots.get(span.trace_id)
        if run is None:
            return  # a trace that is not one of our runs
        parent = self._open.get(span.parent_id or "") or run[0]
        if isinstance(span.span_data, TaskSpanData):
            # The SDK's own "this Runner run" span: the run's root already is that.
            self._open[span.span_id] = parent
            return
        self._open[span.span_id] = self._tracer.start_span(
            span.span_data.type,  # named at its end, when all is known (a handoff's target)
            context=otel.set_span_in_context(parent),
            kind=otel.SpanKind.CLIENT if _is_model(span.span_data) else otel.SpanKind.INTERNAL,
            start_time=_ns(span.started_at),
        )

    def on_span_end(self, span: SdkSpan[Any]) -> None:
        opened = self._open.pop(span.span_id, None)
        run = self.roots.get(span.trace_id)
        if opened is None or isinstance(span.span_data, TaskSpanData):
            return
        ids = run[1] if run is not None else {}
        name, attributes = _describe(span.span_data, self._content, ids)
        opened.update_name(name)
        for key, value in attributes.items():
            if value is not None:
                opened.set_attribute(key, value)
        if span.error is not None:
            tool = isinstance(span.span_data, FunctionSpanData)
            opened.set_attribute("error.type", "tool_error" if tool else "error")
            message = SECRETS.scrub(str(span.error.get("message", "")))
            opened.set_status(Status(StatusCode.ERROR, message))
        opened.end(end_time=_ns(span.ended_at))

    def shutdown(self) -> None:
        return None

    def force_flush(self) -> None:
        return None


def _reported(usage: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A generation span's usage, or nothing when the provider reported none.

    The SDK records a request that came without usage as all-zero counts; a span attribute
    of 0 tokens would be a wrong number, an absent one says unknown.
    """
    counts = usage or {}
    if any(counts.get(key) for key in ("input_tokens", "output_tokens", "total_tokens")):
        return counts
    return {}


def _is_model(data: Any) -> bool:
    return isinstance(data, GenerationSpanData | ResponseSpanData)


def _describe(data: Any, content: bool, ids: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """A span's name and attributes, in the GenAI conventions' terms where they have some."""
    match data:
        case AgentSpanData():
            agent = ids.get(data.name, data.name)
            attributes = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent}
            return f"invoke_agent {agent}", attributes
        case TurnSpanData():
            agent = ids.get(data.agent_name, data.agent_name)
            return f"turn {data.turn}", {"gen_ai.agent.name": agent, "agents_app.turn": data.turn}
        case GenerationSpanData():
            counted = _reported(data.usage)
            return f"chat {data.model or ''}".rstrip(), {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": data.model,
                "gen_ai.usage.input_tokens": counted.get("input_tokens"),
                "gen_ai.usage.output_tokens": counted.get("output_tokens"),
                "gen_ai.input.messages": _text(data.input) if content else None,
                "gen_ai.output.messages": _text(data.output) if content else None,
            }
        case ResponseSpanData():
            response = data.response
            model = response.model if response is not None else None
            usage = response.usage if response is not None else None
            return f"chat {model or ''}".rstrip(), {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": model,
                "gen_ai.response.id": response.id if response is not None else None,
                "gen_ai.usage.input_tokens": usage.input_tokens if usage else None,
                "gen_ai.usage.output_tokens": usage.output_tokens if usage else None,
                "gen_ai.input.messages": _text(data.input) if content else None,
                "gen_ai.output.messages": (
                    _text([item.model_dump() for item in response.output])
                    if content and response is not None
                    else None
                ),
            }
        case FunctionSpanData():
            return f"execute_tool {data.name}", {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": data.name,
                "gen_ai.tool.type": "function",
                "gen_ai.tool.call.arguments": _text(data.input) if content else None,
                "gen_ai.tool.call.result": _text(data.output) if content else None,
            }
        case HandoffSpanData():
            source = ids.get(data.from_agent or "", data.from_agent)
            target = ids.get(data.to_agent or "", data.to_agent)
            return f"handoff {source} → {target}", {
                "agents_app.handoff.from": source,
                "agents_app.handoff.to": target,
            }
        case GuardrailSpanData():
            return f"guardrail {data.name}", {
                "agents_app.guardrail.name": data.name,
                "agents_app.guardrail.triggered": data.triggered,
            }
    return str(getattr(data, "type", "span")), {}


def _text(value: Any) -> str | None:
    """Content as one attribute string, with every known secret taken out."""
    if value is None:
        return None
    raw = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return SECRETS.scrub(raw)


def _ns(stamp: str | None) -> int | None:
    if stamp is None:
        return None
    return int(datetime.fromisoformat(stamp).timestamp() * 1_000_000_000)
