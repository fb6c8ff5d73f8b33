"""Logs: one JSON line per event, ids bound, secrets scrubbed."""

from __future__ import annotations

import json

import pytest
import structlog

from agents_app.logs import REDACTED, configure_logging

SECRET = "AQVN-super-secret-key-123"


def test_json_lines_with_bound_ids_and_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO", fmt="json", secrets=[SECRET])
    log = structlog.get_logger("test")
    with structlog.contextvars.bound_contextvars(run_id="run_1", connection_id="conn_1"):
        log.info("model.error", detail=f"401: bad key {SECRET}", nested={"k": [SECRET]})
    import logging

    logging.getLogger("openai").warning("header Authorization: Bearer %s", SECRET)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["event"] == "model.error"
    assert (first["run_id"], first["connection_id"]) == ("run_1", "conn_1")
    assert first["detail"] == f"401: bad key {REDACTED}"
    assert first["nested"] == {"k": [REDACTED]}
    assert SECRET not in lines[1] and REDACTED in second["event"]
