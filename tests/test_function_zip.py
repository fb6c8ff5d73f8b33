"""function.zip: deterministic, complete, pinned to the lock, importable on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from agents_app.function_zip import (
    ROOT,
    _read_lock,
    as_deployed,
    build_function_zip,
    undeployed_modules,
)


def test_zip_is_deterministic_and_pinned(tmp_path: Path) -> None:
    first = build_function_zip(tmp_path / "a.zip")
    second = build_function_zip(tmp_path / "b.zip")
    assert first.path.read_bytes() == second.path.read_bytes()

    names = zipfile.ZipFile(first.path).namelist()
    assert names == [*sorted(names[:-1]), "requirements.txt"]
    assert {"function.py", "config/agents.yaml", "tools/registry.py"} <= set(names)
    assert "agents_app/cloud/handler.py" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith("agents_app/testing/")]
    assert not [n for n in names if n.startswith("tests/")]

    lock = _read_lock(ROOT / "requirements.lock")
    requirements = zipfile.ZipFile(first.path).read("requirements.txt").decode().split()
    pinned = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1] for line in requirements
    }
    assert {"openai-agents", "openai", "yandexcloud", "grpcio", "structlog"} <= set(pinned)
    assert all(lock[name.replace(".", "-")] == version for name, version in pinned.items())
    assert not {"pytest", "mypy", "ruff"} & set(pinned)
    # The command line's packages stay out: structlog would import rich at every cold start.
    assert not {"typer", "rich"} & set(pinned)


def test_unpacked_zip_imports_with_nothing_from_the_checkout(tmp_path: Path) -> None:
    report = build_function_zip(tmp_path / "function.zip")
    unpacked = tmp_path / "function"
    zipfile.ZipFile(report.path).extractall(unpacked)
    # Only what the zip's requirements install can be imported, as in the cloud.
    probe = as_deployed(undeployed_modules()) + (
        "import function, agents_app, tools;"
        "from agents_app.engine import Engine;"
        "from agents_app.settings import Settings;"
        "engine = Engine.from_settings(Settings(provider='offline'));"
        "connect = {'requestContext': {'connectionId': 'c', 'eventType': 'CONNECT'}};"
        "print(function.handler(connect, None));"
        "print(agents_app.__file__); print(tools.__file__); print(sorted(engine.graph.agents));"
        "print(sorted({'rich', 'typer'} & set(sys.modules)))"
    )
    # -S: no site processing, so the editable install's path hook cannot reach the checkout;
    # third-party packages come from site-packages given explicitly.
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": f"{unpacked}:{sysconfig.get_paths()['purelib']}",
    }
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        cwd=unpacked,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "{'statusCode': 200}"
    assert lines[1].startswith(str(unpacked)) and lines[2].startswith(str(unpacked))
    assert "joker" in lines[3] and str(ROOT) not in result.stdout
    assert lines[4] == "[]"  # a CONNECT warms the whole function path up without them
