"""A config's guardrails as openai-agents guardrails: the SDK runs them, we only decide.

Each named guardrail becomes one check (a rule or a judge); each place it is attached wraps
that check in the SDK type for that place. The SDK's own exceptions
(`InputGuardrailTripwireTriggered` …) then carry a `Trip` as the guardrail's `output_info`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from agents import (
    Agent,
    GuardrailFunctionOutput,
    InputGuardrail,
    OutputGuardrail,
    RunContextWrapper,
    ToolGuardrailFunctionOutput,
    ToolInputGuardrail,
    ToolInputGuardrailData,
    ToolOutputGuardrail,
    ToolOutputGuardrailData,
)
from agents.items import TResponseInputItem

from agents_app.config import AgentsConfig
from agents_app.config.guardrail_specs import GuardrailRefs, GuardrailSpec
from agents_app.guardrails.judge import Judge
from agents_app.guardrails.rules import rule_for
from agents_app.guardrails.verdicts import Trip, Verdict
from agents_app.protocol.events import GuardrailStage

Check = Callable[[str, RunContextWrapper[Any], GuardrailStage], Awaitable[Verdict]]
log = structlog.get_logger("agents_app.guardrails")


def _check_for(name: str, spec: GuardrailSpec, model: str | None) -> Check:
    if spec.kind == "agent":
        return Judge(name, spec, model=model)
    rule = rule_for(spec)

    async def check(text: str, _: RunContextWrapper[Any], __: GuardrailStage) -> Verdict:
        return rule(text)

    return check


@dataclass(frozen=True)
class Guardrail:
    """One named guardrail: its spec and its check."""

    name: str
    spec: GuardrailSpec
    check: Check

    def message(self, stage: GuardrailStage, tool: str = "") -> str:
        if self.spec.message:
            return self.spec.message
        return {
            "input": f"Your message did not pass the {self.name!r} check.",
            "output": f"The answer was withheld by the {self.name!r} check.",
            "tool_input": f"The call to {tool} was stopped by the {self.name!r} check.",
            "tool_output": f"The result of {tool} was withheld by the {self.name!r} check.",
        }[stage]

    async def decide(
        self, text: str, context: RunContextWrapper[Any], stage: GuardrailStage, agent: Any
    ) -> Trip | None:
        verdict = await self.check(text, context, stage)
        if not verdict.tripped:
            return None
        tool = getattr(context, "tool_name", "")
        trip = Trip(self.name, stage, agent, self.message(stage, tool), verdict.reason)
        # The reason may quote the user: it goes to the operator's log, never to clients.
        log.info("guardrail.tripped", guardrail=self.name, stage=stage, reason=verdict.reason)
        return trip

    def input(self) -> InputGuardrail[Any]:
        async def run(
            context: RunContextWrapper[Any], agent: Agent[Any], data: str | list[TResponseInputItem]
        ) -> GuardrailFunctionOutput:
            trip = await self.decide(last_user_text(data), context, "input", agent)
            return GuardrailFunctionOutput(output_info=trip, tripwire_triggered=trip is not None)

        return InputGuardrail(run, name=self.name, run_in_parallel=not self.spec.blocking)

    def output(self) -> OutputGuardrail[Any]:
        async def run(
            context: RunContextWrapper[Any], agent: Agent[Any], output: Any
        ) -> GuardrailFunctionOutput:
            trip = await self.decide(_text(output), context, "output", agent)
            return GuardrailFunctionOutput(output_info=trip, tripwire_triggered=trip is not None)

        return OutputGuardrail(run, name=self.name)

    def tool_input(self) -> ToolInputGuardrail[Any]:
        async def run(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
            text = data.context.tool_arguments
            trip = await self.decide(text, data.context, "tool_input", data.agent)
            return self._tool_verdict(trip, data)

        return ToolInputGuardrail(run, name=self.name)

    def tool_output(self) -> ToolOutputGuardrail[Any]:
        async def run(data: ToolOutputGuardrailData) -> ToolGuardrailFunctionOutput:
            trip = await self.decide(_text(data.output), data.context, "tool_output", data.agent)
            return self._tool_verdict(trip, data)

        return ToolOutputGuardrail(run, name=self.name)

    def _tool_verdict(
        self, trip: Trip | None, data: ToolInputGuardrailData
    ) -> ToolGuardrailFunctionOutput:
        if trip is None:
            return ToolGuardrailFunctionOutput.allow()
        if self.spec.on_trip == "stop":
            return ToolGuardrailFunctionOutput.raise_exception(output_info=trip)
        # Rejected content: the model reads the message instead (worded like a tool failure,
        # so it adapts), and the run's translator reports the trip with that call.
        record = getattr(data.context.context, "record_tool_trip", None)
        if callable(record):
            record(data.context.tool_call_id, trip)
        return ToolGuardrailFunctionOutput.reject_content(f"Error: {trip.message}", trip)


@dataclass(frozen=True)
class Guardrails:
    """A config's guardrails as SDK objects, and what the gate needs to know of them."""

    by_name: Mapping[str, Guardrail]
    config: AgentsConfig
    _buffers_output: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, config: AgentsConfig, *, model_override: str | None = None) -> Guardrails:
        default_model = model_override or config.defaults.model
        return cls(
            {
                name: Guardrail(
                    name,
                    spec,
                    _check_for(name, spec, model_override or spec.model or default_model),
                )
                for name, spec in config.guardrails.items()
            },
            config,
        )

    def _refs(self, refs: GuardrailRefs, stage: str) -> list[Guardrail]:
        return [self.by_name[name] for name in getattr(refs, stage)]

    # -- SDK objects, by attachment ------------------------------------------------------

    def run_input(self) -> list[InputGuardrail[Any]]:
        return [g.input() for g in self._refs(self.config.run_guardrails, "input")]

    def run_output(self) -> list[OutputGuardrail[Any]]:
        return [g.output() for g in self._refs(self.config.run_guardrails, "output")]

    def agent_input(self, agent_id: str) -> list[InputGuardrail[Any]]:
        return [g.input() for g in self._refs(self.config.agent(agent_id).guardrails, "input")]

    def agent_output(self, agent_id: str) -> list[OutputGuardrail[Any]]:
        refs = self.config.agent(agent_id).guardrails
        return [g.output() for g in self._refs(refs, "output")]

    def tool_input(self, agent_id: str, tool: str) -> list[ToolInputGuardrail[Any]]:
        refs = self.config.agent(agent_id).tool_guardrails.get(tool)
        return [g.tool_input() for g in self._refs(refs, "input")] if refs else []

    def tool_output(self, agent_id: str, tool: str) -> list[ToolOutputGuardrail[Any]]:
        refs = self.config.agent(agent_id).tool_guardrails.get(tool)
        return [g.tool_output() for g in self._refs(refs, "output")] if refs else []

    # -- what text waits (the gate's policy) ---------------------------------------------

    def held_inputs(self, start: str) -> frozenset[str]:
        """Parallel `buffer` input guardrails of a turn starting at `start`: what is said
        before they all pass is held back."""
        names = (*self.config.run_guardrails.input, *self.config.agent(start).guardrails.input)
        return frozenset(
            n for n in names if not self.by_name[n].spec.blocking and self._mode(n) == "buffer"
        )

    def buffers_output(self, agent_id: str) -> bool:
        """Whether `agent_id`'s final answer is held until its output guardrails pass."""
        # Asked for every streamed word; the config of a graph never changes.
        known = self._buffers_output.get(agent_id)
        if known is None:
            names = (
                *self.config.run_guardrails.output,
                *self.config.agent(agent_id).guardrails.output,
            )
            known = self._buffers_output[agent_id] = any(self._mode(n) == "buffer" for n in names)
        return known

    def _mode(self, name: str) -> str:
        return self.by_name[name].spec.mode


def last_user_text(data: str | list[TResponseInputItem]) -> str:
    """The text of the turn's user message: an input guardrail checks what the user just
    said, not the whole conversation the SDK hands over with a session."""
    if isinstance(data, str):
        return data
    for item in reversed(data):
        if isinstance(item, Mapping) and item.get("role") == "user":
            return _content_text(item.get("content"))
    return ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, Mapping)]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)
