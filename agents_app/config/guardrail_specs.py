"""``guardrails:`` in ``agents.yaml``: named checks on text, and an agent's references to them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .strict import Strict

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


class GuardrailSpec(Strict):
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


class GuardrailRefs(Strict):
    """Guardrails (by name) on the text going in and coming out."""

    input: tuple[str, ...] = Field(
        default=(), strict=False, description="Checked before (or while) the model reads it."
    )
    output: tuple[str, ...] = Field(
        default=(), strict=False, description="Checked before the answer counts as given."
    )
