"""A real Prometheus (Debian's package) on loopback, scraping one target every second."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.deps import missing
from tests.redis_server import _free_port


class PrometheusServer:
    def __init__(self, target: str, *, bearer: str | None = None) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            message = "prometheus is not installed (make system-deps installs it)"
            missing(message)  # in CI a failure, never a skip
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        folder = Path(tempfile.mkdtemp(prefix="prometheus-"))
        auth = f"    authorization: {{credentials: {bearer}}}\n" if bearer else ""
        (folder / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: agents-app\n"
            f"    static_configs: [{{targets: ['{target}']}}]\n" + auth
        )
        self._process = subprocess.Popen(
            [
                binary,
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._folder = folder

    def wait_ready(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError("prometheus did not become ready")

    async def query(self, promql: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(f"{self.url}/api/v1/query", params={"query": promql})
        body = response.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def targets_up(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(f"{self.url}/api/v1/targets")
        active: list[dict[str, Any]] = response.json()["data"]["activeTargets"]
        return active

    def stop(self) -> None:
        self._process.kill()
        self._process.wait(10)
        shutil.rmtree(self._folder, ignore_errors=True)
