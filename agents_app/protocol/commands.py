"""Client→server frames (DESIGN §3): a JSON object is a command, anything else is user text."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserMessage(_Command):
    type: Literal["user.message"] = "user.message"
    text: str = Field(min_length=1)
    agent: str | None = None
    conversation_id: str | None = Field(default=None, min_length=1, max_length=200)
    # Revision 2: what to do if the conversation is still answering (default: agents.yaml).
    multitask: Literal["reject", "enqueue", "interrupt", "rollback"] | None = None


_Id = Field(default=None, min_length=1, max_length=200)


class CancelRun(_Command):
    type: Literal["run.cancel"] = "run.cancel"
    # Optional (additive): which run; by default the one this client follows or last spoke in.
    run_id: str | None = _Id


class JoinRun(_Command):
    """Replay a run's events after `after_seq`, then follow it live (revision 2)."""

    type: Literal["run.join"] = "run.join"
    run_id: str | None = _Id
    conversation_id: str | None = _Id
    after_seq: int = Field(default=0, ge=0)


class Decision(_Command):
    call_id: str = Field(min_length=1, max_length=200)
    approve: bool
    message: str | None = Field(default=None, max_length=2000)  # told to the model on a no


class ResumeRun(_Command):
    """Answer a run that stopped for approval: a decision for every pending call (rev. 2)."""

    type: Literal["run.resume"] = "run.resume"
    run_id: str = Field(min_length=1, max_length=200)
    decisions: list[Decision] = Field(min_length=1, max_length=100)


class Ping(_Command):
    type: Literal["ping"] = "ping"


Command = Annotated[
    UserMessage | CancelRun | JoinRun | ResumeRun | Ping, Field(discriminator="type")
]
_command_adapter: TypeAdapter[Command] = TypeAdapter(Command)


class BadFrame(ValueError):
    """The frame cannot be acted on; `code` is the protocol error code to answer with."""

    def __init__(self, code: Literal["bad_request", "too_large"], message: str) -> None:
        super().__init__(message)
        self.code: Literal["bad_request", "too_large"] = code
        self.message = message


def parse_frame(frame: str | bytes, *, max_bytes: int) -> Command:
    size = len(frame) if isinstance(frame, bytes) else len(frame.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise BadFrame("too_large", f"Frame of {size} bytes exceeds the {max_bytes}-byte limit.")
    if isinstance(frame, bytes):
        try:
            frame = frame.decode("utf-8")
        except UnicodeDecodeError:
            raise BadFrame("bad_request", "Binary frames must be UTF-8 text.") from None
    if not frame.strip():
        raise BadFrame("bad_request", "Empty message.")
    try:
        data = json.loads(frame)
    except RecursionError:
        if frame.lstrip().startswith("{"):
            # An object too deep to read is a command we cannot act on: answering it as
            # chat would start a model run on a wall of braces.
            raise BadFrame("bad_request", "Invalid command: nested too deeply.") from None
        data = None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        # Plain text (and JSON that is not an object, like `42`) is the user's message,
        # so typing into wscat just works.
        return UserMessage(text=frame)
    try:
        return _command_adapter.validate_python(data)
    except ValidationError as exc:
        raise BadFrame("bad_request", _describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "frame"
        # Field names and a wrong `type` are echoed from the client: keep the echo short.
        parts.append(f"{_clip(where, 60)}: {_clip(err['msg'], 120)}")
    return "Invalid command: " + "; ".join(parts)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
