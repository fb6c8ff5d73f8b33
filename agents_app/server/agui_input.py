"""AG-UI `RunAgentInput` → one `Turn`: the last user message, with the thread before it.

AG-UI clients hold the conversation and send all of it on every run, so the server keeps no
session for them: the user and assistant text of earlier messages becomes the model input.
Tool calls and results in the history are not replayed (they belong to whichever agent made
them), and system/developer messages are ignored: the agents' instructions are the server's.
The client's own tools (`tools`) are not offered to the agents.
"""

from __future__ import annotations

from typing import Any

from ag_ui.core import AssistantMessage, ResumeEntry, RunAgentInput, UserMessage
from agents import TResponseInputItem
from pydantic import ValidationError

from agents_app.graph import Graph
from agents_app.protocol.commands import BadFrame
from agents_app.runs.approval import Verdict
from agents_app.runs.turn import Turn


def parse_run_input(body: bytes, *, max_bytes: int) -> RunAgentInput:
    if len(body) > max_bytes:
        raise BadFrame("too_large", f"Request of {len(body)} bytes exceeds {max_bytes} bytes.")
    try:
        return RunAgentInput.model_validate_json(body)
    except ValidationError as exc:
        where = [
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False)[:3]
        ]
        raise BadFrame("bad_request", "Invalid RunAgentInput: " + "; ".join(where)) from None


def turn_from_input(run_input: RunAgentInput, *, graph: Graph, max_text_bytes: int) -> Turn:
    if not run_input.messages or not isinstance(run_input.messages[-1], UserMessage):
        raise BadFrame("bad_request", "The last message must be the user's (role 'user').")
    text = _text(run_input.messages[-1].content)
    if not text.strip():
        raise BadFrame("bad_request", "The last user message has no text.")
    if len(text.encode("utf-8", "surrogatepass")) > max_text_bytes:
        raise BadFrame("too_large", f"The user message exceeds the {max_text_bytes}-byte limit.")
    history: list[TResponseInputItem] = []
    for message in run_input.messages[:-1]:
        if isinstance(message, UserMessage) and (said := _text(message.content)):
            history.append({"role": "user", "content": said})
        elif isinstance(message, AssistantMessage) and message.content:
            history.append({"role": "assistant", "content": message.content})
    return Turn(
        conversation_id=run_input.thread_id,
        text=text,
        agent=_start_agent(run_input.forwarded_props, graph),
        run_id=run_input.run_id,
        history=tuple(history),
    )


def _text(content: Any) -> str:
    """A message's text: plain content, or the text parts of a multimodal one."""
    if isinstance(content, str):
        return content
    return "".join(str(getattr(part, "text", "")) for part in content or ())


def _start_agent(props: Any, graph: Graph) -> str | None:
    """`forwardedProps.agent` picks the starting agent, like `agent` in `user.message`."""
    agent = props.get("agent") if isinstance(props, dict) else None
    if agent is None:
        return None
    if not isinstance(agent, str):
        raise BadFrame("bad_request", f"forwardedProps.agent must be a string, not {agent!r}.")
    return agent  # the dispatcher checks it against the graph, as for every entry point


def verdicts_from(entries: list[ResumeEntry]) -> dict[str, Verdict]:
    """`RunAgentInput.resume` → a decision per call: an interrupt's id is its tool call's id.

    `resolved` with a payload of `{"approve": false, "message": …}` (or `false`) refuses;
    `resolved` otherwise approves; `cancelled` refuses.
    """
    verdicts = {}
    for entry in entries:
        payload = entry.payload
        says_no = payload is False or (
            isinstance(payload, dict) and payload.get("approve") is False
        )
        if entry.status == "cancelled" or says_no:
            verdicts[entry.interrupt_id] = Verdict(approve=False, message=_message(payload))
        else:
            verdicts[entry.interrupt_id] = Verdict(approve=True)
    return verdicts


def _message(payload: Any) -> str | None:
    message = payload.get("message") if isinstance(payload, dict) else None
    return message if isinstance(message, str) and message.strip() else None
