"""The shipped agents.yaml without its guardrails, for runs whose every model request is
scripted (tests, benchmarks).

The shipped `relevance` guardrail is a judge with a model request of its own, made beside
triage's: a script written for the agents alone would hand it their replies (or race it for
them), and a benchmark of the forwarding path would time the judge too.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

from ruamel.yaml import YAML

from agents_app.settings import DEFAULT_CONFIG


@functools.cache
def unguarded_config() -> Path:
    """A copy of the shipped config folder (prompts too) with every guardrail taken out."""
    folder = Path(tempfile.mkdtemp(prefix="agents-app-unguarded-")) / "config"
    shutil.copytree(DEFAULT_CONFIG.parent, folder)
    yaml = YAML(typ="rt")
    document = yaml.load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    for key in ("guardrails", "run_guardrails"):
        document.pop(key, None)
    for spec in document["agents"].values():
        spec.pop("guardrails", None)
        spec.pop("tool_guardrails", None)
    with (folder / DEFAULT_CONFIG.name).open("w", encoding="utf-8") as out:
        yaml.dump(document, out)
    return folder / DEFAULT_CONFIG.name
