"""The remote side of a benchmark, in its own process: a Connection Service and a model.

Run as `python -m bench.services SEND_DELAY_S`. It serves, on 127.0.0.1:
- the gateway emulator's real gRPC ConnectionService (`ConnectionRegistry`), taking
  SEND_DELAY_S per `Send`, accepting any connection id and recording what arrives;
- the scripted OpenAI-compatible server, answering every request with a text reply.

It prints one JSON line (`grpc`, `openai`, `token`), then answers JSON commands on stdin
(`script`, `counts`, `reset`) with one JSON line each, and exits at EOF. Running apart keeps
the benchmarked process alone with its own CPU, and lets a blocking seed-style `Send` wait on
a server that is not stalled by the very call waiting on it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from agents_app.gateway.connection_service_server import ConnectionRegistry, Peer, start_grpc_server
from agents_app.testing import Reply, ScriptedOpenAIServer, Text, ToolCall

TOKEN = "bench-token"


def delta_text(count: int) -> Text:
    """`count` word deltas that join to one text: the scripted stream every benchmark uses."""
    chunks = [f"w{i} " for i in range(count)]
    return Text("".join(chunks), chunks=chunks)


# A short joke run as the shipped graph makes it: triage hands off, the joker asks how many
# jokes to tell, then tells one (word deltas).
JOKE = (
    "Why do programmers prefer dark mode? Because light attracts bugs, and after a long day of "
    "debugging, the last thing anyone wants is more of those crawling around the screen."
)


def joke_replies(delay_s: float) -> list[Reply]:
    return [
        Reply([ToolCall("transfer_to_joker")], delay_s=delay_s),
        Reply([ToolCall("how_many_jokes")], delay_s=delay_s),
        Reply([Text(JOKE)], delay_s=delay_s),
    ]


class Received:
    """What one connection got: frames, the text inside them, when text first arrived."""

    def __init__(self) -> None:
        self.frames = 0
        self.text_chars = 0
        self.first_text_at: float | None = None

    async def send_text(self, frame: str) -> None:
        self.frames += 1
        text = text_of(frame)
        if text and self.first_text_at is None:
            self.first_text_at = time.monotonic()
        self.text_chars += len(text)

    async def send_bytes(self, data: bytes) -> None:
        await self.send_text(data.decode())

    async def close(self) -> None:
        return None


def text_of(frame: str) -> str:
    """Ours sends JSON events (text in `text.delta`), one or an array of them (batch frames);
    the seed sends the raw text itself."""
    if frame.startswith(("{", "[")):
        try:
            data = json.loads(frame)
        except ValueError:
            return frame
        events = data if isinstance(data, list) else [data]
        if all(isinstance(event, dict) and "type" in event for event in events):
            return "".join(_delta(event) for event in events)
    return frame


def _delta(event: dict[str, Any]) -> str:
    delta = event.get("delta") if event["type"] == "text.delta" else ""
    return delta if isinstance(delta, str) else ""


class AnyConnection(dict[str, Peer]):
    """Every connection id is open: the benchmark's clients invent theirs."""

    def __init__(self) -> None:
        super().__init__()
        self.received: dict[str, Received] = {}

    def get(self, key: str, default: Any = None) -> Peer:
        peer = super().get(key)
        if peer is None:
            got = self.received[key] = Received()
            peer = self[key] = Peer(got.send_text, got.send_bytes, got.close, 0)
        return peer


async def serve(send_delay_s: float) -> None:
    peers = AnyConnection()
    registry = ConnectionRegistry(token=TOKEN, send_delay_s=send_delay_s)
    registry.peers = peers
    server, target = await start_grpc_server(registry)
    model = await ScriptedOpenAIServer().__aenter__()
    print(json.dumps({"grpc": target, "openai": model.base_url, "token": TOKEN}), flush=True)
    loop = asyncio.get_running_loop()
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            command = json.loads(line)
            answer: dict[str, Any] = {"ok": True}
            if command["cmd"] == "script":
                text = delta_text(int(command["deltas"]))
                reply = Reply([text], delay_s=float(command.get("delay_s", 0.0)))
                model.enqueue(*[reply for _ in range(int(command["count"]))])
            elif command["cmd"] == "script_jokes":
                replies = joke_replies(float(command.get("delay_s", 0.0)))
                model.enqueue(*[r for _ in range(int(command["count"])) for r in replies])
            elif command["cmd"] == "counts":
                answer = {
                    "sends": dict(registry.sends),
                    "frames": {k: v.frames for k, v in peers.received.items()},
                    "text_chars": {k: v.text_chars for k, v in peers.received.items()},
                    "first_text_at": {k: v.first_text_at for k, v in peers.received.items()},
                    "model_requests": len(model.requests),
                }
            elif command["cmd"] == "reset":
                registry.sends.clear()
                peers.clear()
                peers.received.clear()
            print(json.dumps(answer), flush=True)
    finally:
        await model.__aexit__(None, None, None)
        await server.stop(grace=0.5)


if __name__ == "__main__":
    asyncio.run(serve(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0))
