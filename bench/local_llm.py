"""9. A real model's stream direct vs through our pipeline: time to first token, tokens/s.

llama.cpp's OpenAI-compatible server with SmolLM2-135M on 127.0.0.1 (the `local-llm` extra;
without it this benchmark fails, it never skips). Direct: the openai client streams a chat
completion straight from it. Pipeline: a WebSocket client sends the same message to our
server (this process), which runs the `story` agent of config/examples/local-llm.yaml (a few
hundred tokens of text) against the same llama.cpp server, with the same system prompt,
temperature 0 and token limit. Rounds
alternate direct and pipeline. The model's own rate is the physical limit of forwarding: the
ratio says what our path adds on top.

Tokens: llama.cpp streams one chunk per token and no usage (docs/local-llm.md), so direct
tokens are counted chunks; at temperature 0 both paths produce the same text (checked), so
the pipeline's tokens/s is the same count over its own first-to-last text time.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from openai import AsyncOpenAI
from pydantic import SecretStr
from websockets.asyncio.client import connect

from agents_app.engine import Engine
from agents_app.logs import configure_logging
from agents_app.settings import Settings
from agents_app.testing.llama_server import LlamaServer
from bench.common import ROOT, Row, on_service_loop
from bench.local_server import serving

NAME = "local_llm"
CONFIG = ROOT / "config" / "examples" / "local-llm.yaml"
AGENT = "story"
QUESTION = "Write a story about a dragon who learns to bake bread."


@dataclass(frozen=True)
class Stream:
    first_s: float  # request sent → first text
    last_s: float  # request sent → last text
    text: str
    chunks: int  # text pieces as received (direct: one per token)


def local_settings(base_url: str) -> Settings:
    settings = Settings(
        provider="openai",
        api="chat_completions",
        api_key=SecretStr("local-no-key"),
        base_url=base_url,
        config_path=CONFIG,
        model_max_retries=0,
        model_timeout_s=120.0,
        log_level="WARNING",
        rate_limit_per_minute=1e9,
        rate_limit_burst=1_000_000,
        max_conversations_per_connection=1_000_000,
        data_dir=Path(tempfile.mkdtemp(prefix="agents-bench-")),
    )
    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=[])
    return settings


def prompt_of(engine: Engine) -> tuple[str, int]:
    """The agent's system prompt and token limit, as the SDK sends them."""
    agent = engine.graph.agent(AGENT)
    assert isinstance(agent.instructions, str) and agent.model_settings.max_tokens is not None
    return agent.instructions, agent.model_settings.max_tokens


async def direct(client: AsyncOpenAI, system: str, max_tokens: int) -> Stream:
    started = time.monotonic()
    first = last = 0.0
    pieces: list[str] = []
    stream = await client.chat.completions.create(
        model="smollm2",
        messages=[{"role": "system", "content": system}, {"role": "user", "content": QUESTION}],
        temperature=0,
        max_tokens=max_tokens,
        stream=True,
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            last = time.monotonic() - started
            first = first or last
            pieces.append(chunk.choices[0].delta.content)
    return Stream(first, last, "".join(pieces), len(pieces))


async def pipeline(url: str) -> Stream:
    async with connect(url, max_size=None, open_timeout=10) as ws:
        ready = json.loads(await ws.recv())
        assert ready["type"] == "session.ready", ready
        command = {"type": "user.message", "text": QUESTION, "agent": AGENT}
        command["conversation_id"] = f"bench-{uuid.uuid4().hex}"  # no history: same prompt
        started = time.monotonic()
        await ws.send(json.dumps(command))
        first = last = 0.0
        pieces: list[str] = []
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if event["type"] == "text.delta":
                last = time.monotonic() - started
                first = first or last
                pieces.append(event["delta"])
            elif event["type"] == "run.completed":
                return Stream(first, last, "".join(pieces), len(pieces))
            elif event["type"] in {"run.failed", "run.cancelled", "error"}:
                raise RuntimeError(f"the pipeline run ended {event}")


def _rate(tokens: int, stream: Stream) -> float:
    span = stream.last_s - stream.first_s
    return (tokens - 1) / span if span > 0 and tokens > 1 else 0.0


async def measure(rounds: int) -> tuple[list[Stream], list[Stream]]:
    with LlamaServer() as llama:
        engine = Engine.from_settings(local_settings(llama.base_url))
        client = AsyncOpenAI(api_key="local-no-key", base_url=llama.base_url, max_retries=0)
        system, max_tokens = prompt_of(engine)
        try:
            async with serving(engine) as url:
                await direct(
                    client, system, max_tokens
                )  # warm both paths: model load, prompt cache
                await pipeline(url)
                directs, piped = [], []
                for _ in range(rounds):
                    directs.append(await direct(client, system, max_tokens))
                    piped.append(await pipeline(url))
        finally:
            await client.close()
            await engine.aclose()
    return directs, piped


def run(quick: bool = False) -> list[Row]:
    directs, piped = on_service_loop(measure(1 if quick else 6))
    for d, p in zip(directs, piped, strict=True):
        if not d.text or d.text != p.text:
            raise RuntimeError(f"direct and pipeline answers differ: {d.text!r} vs {p.text!r}")
    tokens = directs[0].chunks
    ttft_d = statistics.median(s.first_s for s in directs)
    ttft_p = statistics.median(s.first_s for s in piped)
    rate_d = statistics.median(_rate(tokens, s) for s in directs)
    rate_p = statistics.median(_rate(tokens, s) for s in piped)
    # Paired by round (each pipeline run right after its direct one), so drift in the
    # machine's load hits both sides of a ratio alike.
    ratios = sorted(p.last_s / d.last_s for d, p in zip(directs, piped, strict=True))
    ratio = statistics.median(ratios)
    total_d = statistics.median(s.last_s for s in directs)
    return [
        Row(NAME, "answer (both paths, same text)", f"{tokens} tokens, {len(piped)} runs each"),
        Row(NAME, "direct: time to first token p50", f"{ttft_d * 1000:.0f} ms"),
        Row(NAME, "pipeline: time to first text.delta p50", f"{ttft_p * 1000:.0f} ms"),
        Row(NAME, "direct: tokens/s p50", f"{rate_d:.1f}"),
        Row(NAME, "pipeline: tokens/s p50", f"{rate_p:.1f}"),
        Row(NAME, "pipeline frames with text / tokens", f"{piped[0].chunks}/{tokens}"),
        Row(NAME, "direct: request → last token p50", f"{total_d:.2f} s"),
        Row(
            NAME,
            "pipeline / direct, request → last text (per round)",
            f"{ratio:.2f}x ({ratios[0]:.2f}–{ratios[-1]:.2f})",
            "<= 1.15x",
            ratio <= 1.15,
        ),
    ]
