"""The base of every model of ``agents.yaml``: strict, closed and frozen.

YAML that *looks* right but is not (``temperature: "0.3"``, ``parallel_tool_calls: yes``) is
rejected rather than coerced, because a prompt author reading the file should see exactly what
the service runs with; an unknown key is a typo to report, not to ignore.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
