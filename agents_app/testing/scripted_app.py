"""The ASGI side of the scripted server: the script, the request log, and how steps are served.

Runs on the server thread's event loop; everything shared with the test thread is behind a lock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from agents_app.testing.scripted_steps import (
    Action,
    BreakStream,
    Fail,
    Malformed,
    Reply,
    Stall,
    Step,
    as_action,
)
from agents_app.testing.wire_chat import chat_chunks, chat_completion_json
from agents_app.testing.wire_common import Ids, dumps, sse
from agents_app.testing.wire_responses import response_events, response_json
from agents_app.testing.wire_validation import JSONDict

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

RESPONSES_PATH = "/v1/responses"
CHAT_PATH = "/v1/chat/completions"

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}
_ERROR_CODES = {429: "rate_limit_exceeded"}


def error_body(status: int, message: str, code: str | None = None) -> JSONDict:
    """An OpenAI-shaped error body, which the client turns into `APIStatusError.body`."""
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {
        "error": {
            "message": message,
            "type": kind,
            "param": None,
            "code": code or _ERROR_CODES.get(status, kind),
        }
    }


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    body: JSONDict  # {} when the body was not a JSON object


class _DropConnection(Exception):
    """Raised inside the ASGI app after the response started: uvicorn then closes the socket,
    which is the only way ASGI offers to cut a response short."""


class _HideDrops(logging.Filter):
    # uvicorn logs any exception escaping the app with a traceback; a scripted drop is not news.
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _DropConnection))


_UVICORN_LOGGER = logging.getLogger("uvicorn.error")
if not any(isinstance(f, _HideDrops) for f in _UVICORN_LOGGER.filters):
    _UVICORN_LOGGER.addFilter(_HideDrops())


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return b"".join(chunks)


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _start(send: Send, status: int, content_type: str, headers: Mapping[str, str]) -> None:
    raw = [(b"content-type", content_type.encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})


async def _send_json(
    send: Send, status: int, payload: Any, headers: Mapping[str, str] | None = None
) -> None:
    await _start(send, status, "application/json", headers or {})
    await send({"type": "http.response.body", "body": dumps(payload).encode()})


class ScriptedApp:
    """ASGI app: each request to a known endpoint consumes the next step."""

    def __init__(self, steps: Iterable[Step] = ()) -> None:
        self._lock = threading.Lock()
        self._steps: deque[Step] = deque(steps)
        self._requests: list[RecordedRequest] = []
        self._errors: list[BaseException] = []
        self._ids = Ids()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Event | None = None

    # -- used from the test thread ----------------------------------------------------------

    def enqueue(self, *steps: Step) -> None:
        with self._lock:
            self._steps.extend(steps)

    def reset(self) -> None:
        # Errors are kept: a drift nobody has checked yet must still fail someone.
        with self._lock:
            self._steps.clear()
            self._requests.clear()
            self._ids = Ids()

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._steps)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def take_errors(self) -> list[BaseException]:
        with self._lock:
            errors, self._errors = self._errors, []
        return errors

    def attach(self) -> None:
        """Call on the serving loop before it serves: stalls and delays wait on this loop."""
        self._loop = asyncio.get_running_loop()
        self._closing = asyncio.Event()

    def close(self) -> None:
        """From any thread: cut stalls and delays short so shutdown need not wait them out."""
        loop, closing = self._loop, self._closing
        if loop is not None and closing is not None and not loop.is_closed():
            loop.call_soon_threadsafe(closing.set)

    # -- ASGI -------------------------------------------------------------------------------

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw_body = await _read_body(receive)
        try:
            body = json.loads(raw_body) if raw_body else {}
        except ValueError:
            body = {}
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        record = RecordedRequest(
            scope["method"], path, headers, body if isinstance(body, dict) else {}
        )
        known = scope["method"] == "POST" and path in (RESPONSES_PATH, CHAT_PATH)
        with self._lock:
            self._requests.append(record)
            step = self._steps.popleft() if known and self._steps else None
            count = len(self._requests)
        if not known:
            message = f"ScriptedOpenAIServer: no route {scope['method']} {path}"
            await _send_json(send, 404, error_body(404, message))
        elif step is None:
            message = f"ScriptedOpenAIServer: script ran out of steps (request #{count}: {path})"
            await _send_json(send, 500, error_body(500, message, "script_exhausted"))
        else:
            await self._perform(as_action(step), record, receive, send)

    async def _perform(
        self, action: Action, request: RecordedRequest, receive: Receive, send: Send
    ) -> None:
        if isinstance(action, Fail):
            message = f"ScriptedOpenAIServer: scripted failure {action.status}"
            payload = action.body if action.body is not None else error_body(action.status, message)
            await _send_json(send, action.status, payload, action.headers)
            return
        if isinstance(action, Stall):
            await self._stall(action.seconds, receive, send)
            return
        reply = action if isinstance(action, Reply) else action.reply
        missing = {k: v for k, v in reply.expect.items() if request.body.get(k) != v}
        if missing:
            got = {k: request.body.get(k) for k in missing}
            message = f"ScriptedOpenAIServer: request lacks {missing!r} (it has {got!r})"
            with self._lock:
                self._errors.append(AssertionError(message))
            await _send_json(send, 400, error_body(400, message))
            return
        if request.body.get("stream") is True:
            await self._serve_stream(action, reply, request, send)
        else:
            await self._serve_document(action, reply, request, send)

    async def _render_failed(self, exc: Exception, send: Send) -> None:
        # Rendering validates every payload before the first byte goes out, so drift is a
        # clean 500 for the client and an exception from check()/stop() for the test: the
        # client's 500 alone would pass any test that expects a failing model.
        with self._lock:
            self._errors.append(exc)
        await _send_json(send, 500, error_body(500, f"ScriptedOpenAIServer: {exc}"))

    async def _serve_stream(
        self, action: Action, reply: Reply, request: RecordedRequest, send: Send
    ) -> None:
        try:
            frames, trailer = self._render_stream(reply, request)
        except Exception as exc:
            await self._render_failed(exc, send)
            return
        if isinstance(action, BreakStream):
            await self._send_frames(send, frames[: action.after_events], reply.delay_s)
            raise _DropConnection
        if isinstance(action, Malformed):
            frames = [*frames[: action.after_events], sse(action.raw)]
        else:
            frames += trailer
        await self._send_frames(send, frames, reply.delay_s)
        await send({"type": "http.response.body", "body": b""})

    async def _serve_document(
        self, action: Action, reply: Reply, request: RecordedRequest, send: Send
    ) -> None:
        try:
            document = dumps(self._render_json(reply, request)).encode()
        except Exception as exc:
            await self._render_failed(exc, send)
            return
        if isinstance(action, Malformed):
            document = action.raw.encode()
        await _start(send, 200, "application/json", {"content-length": str(len(document))})
        if isinstance(action, BreakStream):
            half = document[: len(document) // 2]
            await send({"type": "http.response.body", "body": half, "more_body": True})
            raise _DropConnection
        await send({"type": "http.response.body", "body": document})

    def _render_stream(
        self, reply: Reply, request: RecordedRequest
    ) -> tuple[list[bytes], list[bytes]]:
        """SSE frames for the events, and the trailer sent only when the stream ends well."""
        model = str(request.body.get("model", ""))
        if request.path == RESPONSES_PATH:
            events = response_events(reply, model=model, ids=self._ids)
            return [sse(dumps(event), event=event["type"]) for event in events], []
        options = request.body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        chunks = chat_chunks(reply, model=model, ids=self._ids, include_usage=include_usage)
        return [sse(dumps(chunk)) for chunk in chunks], [sse("[DONE]")]

    def _render_json(self, reply: Reply, request: RecordedRequest) -> JSONDict:
        model = str(request.body.get("model", ""))
        if request.path == RESPONSES_PATH:
            return response_json(reply, model=model, ids=self._ids)
        return chat_completion_json(reply, model=model, ids=self._ids)

    async def _send_frames(self, send: Send, frames: list[bytes], delay_s: float) -> None:
        await _start(send, 200, "text/event-stream; charset=utf-8", {"cache-control": "no-cache"})
        for index, frame in enumerate(frames):
            if index and delay_s > 0 and await self._closing_within(delay_s):
                raise _DropConnection
            await send({"type": "http.response.body", "body": frame, "more_body": True})

    @property
    def _closing_event(self) -> asyncio.Event:
        if self._closing is None:  # only handlers use it, and they run after attach()
            raise RuntimeError("ScriptedOpenAIServer loop is not running")
        return self._closing

    async def _closing_within(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if the server started shutting down meanwhile."""
        try:
            await asyncio.wait_for(self._closing_event.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _stall(self, seconds: float, receive: Receive, send: Send) -> None:
        disconnected = asyncio.ensure_future(_wait_disconnect(receive))
        closing = asyncio.ensure_future(self._closing_event.wait())
        done, pending = await asyncio.wait(
            {disconnected, closing}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        if disconnected in done:
            return  # the client gave up (its read timeout): nothing left to answer
        if closing in done:
            message = "ScriptedOpenAIServer: stopping"
            await _send_json(send, 503, error_body(503, message))
            return
        message = f"ScriptedOpenAIServer: stalled {seconds}s and the client was still waiting"
        await _send_json(send, 504, error_body(504, message, "stall_ended"))
