"""`agents-app package`: a deterministic function.zip for Yandex Cloud Functions.

The zip holds function.py, the code, the config and a requirements.txt pinned to exactly
the versions in requirements.lock, so the cloud installs what the tests ran against.
Deterministic (sorted entries, fixed timestamps and modes): the same tree gives the same
bytes, so a deploy can be skipped when nothing changed.
"""

from __future__ import annotations

import importlib.metadata
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
# What only the command line needs: a function never runs it, and structlog imports rich
# (typer's) whenever it is installed, ~0.1 s of every cold start.
CLI_ONLY = frozenset({"typer"})
# Dev-only parts of the package: the emulator and the test server are not deployed.
EXCLUDED_PACKAGES = ("agents_app/gateway/", "agents_app/testing/")
INCLUDED_SUFFIXES = frozenset({".py", ".yaml", ".yml", ".md", ".json", ".html", ".js", ".css"})
# The Cloud Functions runtime this targets (python312), for dependency markers.
TARGET_ENV = {
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "",
}
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class PackageReport:
    path: Path
    size: int
    files: int
    requirements: list[str]


def build_function_zip(output: Path, *, root: Path = ROOT) -> PackageReport:
    requirements = pinned_requirements(root / "requirements.lock")
    entries = sorted(_source_files(root), key=lambda p: p.as_posix())
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in entries:
            _write(archive, path.relative_to(root).as_posix(), path.read_bytes())
        _write(archive, "requirements.txt", ("\n".join(requirements) + "\n").encode())
    return PackageReport(output, output.stat().st_size, len(entries) + 1, requirements)


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data, compresslevel=9)


def _source_files(root: Path) -> Iterator[Path]:
    yield root / "function.py"
    for folder in ("agents_app", "tools", "config"):
        for path in (root / folder).rglob("*"):
            relative = path.relative_to(root).as_posix()
            if (
                path.is_file()
                and path.suffix in INCLUDED_SUFFIXES
                and "__pycache__" not in path.parts
                and not relative.startswith(EXCLUDED_PACKAGES)
            ):
                yield path


def pinned_requirements(lock: Path, distribution: str = "agents-app") -> list[str]:
    """The runtime dependency closure of `distribution`, each pinned as in the lock."""
    pins = _read_lock(lock)
    seen: dict[str, str] = {}
    pending = [r for r in _runtime_requirements(distribution) if _normalise(r.name) not in CLI_ONLY]
    while pending:
        requirement = pending.pop()
        name = _normalise(requirement.name)
        if name in seen:
            continue
        if name not in pins:
            raise ValueError(f"{requirement.name} is needed at run time but not in {lock.name}")
        seen[name] = f"{requirement.name}=={pins[name]}"
        pending.extend(_runtime_requirements(requirement.name, requirement.extras))
    return sorted(seen.values(), key=str.lower)


def undeployed_modules(lock: Path = ROOT / "requirements.lock") -> frozenset[str]:
    """Top-level modules installed here that the function's requirements do not install."""
    deployed = {_normalise(line.split("==")[0]) for line in pinned_requirements(lock)}
    deployed.add("agents-app")
    return frozenset(
        module
        for module, dists in importlib.metadata.packages_distributions().items()
        if not any(_normalise(dist) in deployed for dist in dists)
    )


def as_deployed(blocked: frozenset[str]) -> str:
    """Python code that makes `blocked` modules unimportable, as they are in the cloud:
    a benchmark or test of the function runs it first, to import what the function will."""
    return (
        "import sys\n"
        "class _Undeployed:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.partition('.')[0] in {sorted(blocked)!r}:\n"
        "            raise ModuleNotFoundError(f'{name} is not deployed', name=name)\n"
        "sys.meta_path.insert(0, _Undeployed())\n"
    )


def _runtime_requirements(distribution: str, extras: set[str] | None = None) -> list[Requirement]:
    found = []
    for line in importlib.metadata.requires(distribution) or []:
        requirement = Requirement(line)
        marker = requirement.marker
        wanted = ["", *sorted(extras or ())]
        if marker is None or any(marker.evaluate(TARGET_ENV | {"extra": e}) for e in wanted):
            found.append(requirement)
    return found


def _read_lock(lock: Path) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_normalise(name)] = version.strip()
    return pins


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
