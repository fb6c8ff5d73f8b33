"""The deployed code path with `AGENTS_OUTPUT_FORMAT=ag-ui`: AG-UI events through the gateway."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from ag_ui.core import Event as AgUiEvent
from pydantic import TypeAdapter
from websockets.asyncio.client import connect

from agents_app.cloud.runtime import reset_runtime
from agents_app.gateway.serve import RunningGateway, load_handler, running_gateway
from tests.conftest import JOKES_SEED

agui_event: TypeAdapter[Any] = TypeAdapter(AgUiEvent)


@pytest.fixture
async def gateway(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[RunningGateway]:
    env = {
        "AGENTS_DATA_DIR": str(tmp_path),
        "AGENTS_PROVIDER": "offline",
        "AGENTS_OFFLINE_PACE": "0",
        "AGENTS_JOKES_SEED": str(JOKES_SEED),
        "LOG_LEVEL": "WARNING",
        "AGENTS_OUTPUT_FORMAT": "ag-ui",
        # running_gateway points the function at its Connection Service through these.
        "AGENTS_CONNECTIONS_ENDPOINT": "unset",
        "AGENTS_CONNECTIONS_INSECURE": "true",
    }
    for name in ("API_KEY", "FOLDER_ID", "BASE_URL", "MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_runtime()
    async with running_gateway(load_handler(), port=0) as running:
        yield running
    reset_runtime()


async def test_function_streams_agui_events(gateway: RunningGateway) -> None:
    frames: list[dict[str, Any]] = []
    async with connect(gateway.url, open_timeout=5, max_size=None) as ws:
        await ws.send("Tell me a joke about programming")
        async with asyncio.timeout(15):
            while not frames or frames[-1]["type"] not in ("RUN_FINISHED", "RUN_ERROR"):
                raw = await ws.recv()
                agui_event.validate_json(raw)
                frames.append(json.loads(raw))
    # Connection events travel as CUSTOM events named by their type.
    assert (frames[0]["type"], frames[0]["name"]) == ("CUSTOM", "session.ready")
    types = [f["type"] for f in frames[1:] if f["type"] != "TEXT_MESSAGE_CONTENT"]
    assert types[:2] == ["RUN_STARTED", "STEP_STARTED"]
    assert types[-3:] == ["TEXT_MESSAGE_END", "STEP_FINISHED", "RUN_FINISHED"]
    assert "TOOL_CALL_RESULT" in types
    assert frames[-1]["result"]["agent"] == "joker"
