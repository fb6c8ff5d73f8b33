"""External programs some tests need (node, Chromium): skipped locally, a failure in CI.

CI (CI=true) installs them through .ci/run and the Makefile, so a missing one there is a
broken setup, never a reason to pass quietly.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

NODE_DIR = Path(__file__).resolve().parent / "node"


def missing(what: str) -> NoReturn:
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{what} (CI must install it: see Makefile and .ci/run)", pytrace=False)
    pytest.skip(what)


def node_with_agui_client() -> str:
    node = shutil.which("node")
    if node is None:
        missing("node is not installed")
    if not (NODE_DIR / "node_modules" / "@ag-ui" / "client" / "package.json").is_file():
        missing("tests/node/node_modules has no @ag-ui/client: run `make node-deps`")
    return node


def chromium() -> str:
    path = os.environ.get("AGENTS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        missing("Debian's chromium is not installed (apt-get install chromium)")
    return path
