"""The `agent` kind: a small judge agent reads the text and answers with a structured verdict.

The verdict is the judge's SDK `output_type`, so the model is asked for JSON by schema
(Responses `text.format` / Chat Completions `response_format`) and the SDK validates the
answer: a judge that answers something else is a failure, and failures fail closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from agents import Agent, RunConfig, RunContextWrapper, Runner
from pydantic import BaseModel, ConfigDict, Field

from agents_app.config.guardrail_specs import GuardrailSpec
from agents_app.guardrails.verdicts import GuardrailUnavailable, Verdict
from agents_app.protocol.events import GuardrailStage

DEFAULT_TIMEOUT_S = 15.0
log = structlog.get_logger("agents_app.guardrails")


class JudgeVerdict(BaseModel):
    """What a judge answers. `allowed` rather than "tripped": it reads as the judge's question."""

    model_config = ConfigDict(extra="forbid")

    allowed: bool = Field(description="true when the text may pass")
    reason: str = Field(description="one short sentence saying why")


class Judge:
    """One `agent` guardrail's judge, built once with the graph."""

    def __init__(self, name: str, spec: GuardrailSpec, *, model: str | None) -> None:
        self.name = name
        self.timeout_s = spec.timeout_s or DEFAULT_TIMEOUT_S
        self.agent: Agent[Any] = Agent(
            name=f"{name} judge",
            instructions=spec.instructions or "",
            model=model,
            output_type=JudgeVerdict,
        )

    async def __call__(
        self, text: str, context: RunContextWrapper[Any], stage: GuardrailStage
    ) -> Verdict:
        # The turn's context says where judges run: the turn's model provider, without the
        # turn's guardrails (a judge's own run must not be judged, or it would recurse).
        run_config = getattr(context.context, "judge_run_config", None)
        if not isinstance(run_config, RunConfig):
            raise self._failed(stage, "no model to judge with")
        try:
            async with asyncio.timeout(self.timeout_s):
                result = await Runner.run(self.agent, text, run_config=run_config)
        except TimeoutError:
            raise self._failed(stage, f"no verdict within {self.timeout_s:g} s") from None
        except Exception as exc:
            raise self._failed(stage, type(exc).__name__) from exc
        # The judge's tokens are the turn's too: they show in run.completed.usage.
        context.usage.add(result.context_wrapper.usage)
        verdict = result.final_output
        if not isinstance(verdict, JudgeVerdict):  # the SDK validated it; belt and braces
            raise self._failed(stage, "the judge did not answer with a verdict")
        return Verdict(tripped=not verdict.allowed, reason=verdict.reason)

    def _failed(self, stage: GuardrailStage, why: str) -> GuardrailUnavailable:
        log.warning("guardrail.failed", guardrail=self.name, stage=stage, why=why)
        return GuardrailUnavailable(self.name, stage, why)
