"""Messages that wait for their conversation: multitask `enqueue`, and a message that
supersedes the running run (it waits at the front until that run has stopped).

The queue lives in the store, so it holds across connections and instances: the claim of a
conversation's lock takes its first waiting message off in the same step, and refuses anyone
else while messages wait, so none is overtaken. Whoever finds the lock free starts the first
one — the process whose run just ended, or a client waiting for its own message.
"""

from __future__ import annotations

import json
from typing import Any

import structlog

from agents_app.memory.store import ConversationStore, StoreUnavailable
from agents_app.protocol.encoders import scrub_event
from agents_app.protocol.events import RunCancelled, RunIds, RunStarted
from agents_app.runs.turn import Turn

log = structlog.get_logger("agents_app.runs")

# How often a client waiting for its message looks at the queue (a run ending in this
# process wakes it at once), and how long a message may be neither queued nor logged
# before it counts as lost (between another instance's claim and its first logged event).
QUEUE_POLL_S = 0.5
LOST_AFTER_S = 10.0


def to_record(turn: Turn) -> str:
    """What the store keeps of a waiting message: enough for any instance to run it."""
    return json.dumps(
        {
            "run_id": turn.run_id,
            "conversation_id": turn.conversation_id,
            "text": turn.text,
            "agent": turn.agent,
            "history": None if turn.history is None else list(turn.history),
            "traceparent": turn.traceparent,
        },
        ensure_ascii=False,
    )


def from_record(raw: str) -> Turn:
    """The waiting message as a turn; ValueError for a record this version cannot read."""
    try:
        data: dict[str, Any] = json.loads(raw)
        history = data.get("history")
        return Turn(
            conversation_id=str(data["conversation_id"]),
            text=str(data["text"]),
            agent=data.get("agent"),
            run_id=str(data["run_id"]),
            history=None if history is None else tuple(history),
            traceparent=data.get("traceparent"),
        )
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"unreadable queued message: {exc}") from exc


def cancelled_while_waiting(turn: Turn, agent: str, reason: str) -> list[RunStarted | RunCancelled]:
    """The whole (short) run of a message taken off the queue before it ran."""
    ids = RunIds(run_id=turn.run_id, conversation_id=turn.conversation_id)
    return [
        RunStarted(**ids, seq=1, agent=turn.agent or agent, input=turn.text),
        RunCancelled(**ids, seq=2, reason=reason),
    ]


async def take_off_queue(
    store: ConversationStore, run_id: str, start_agent: str, reason: str
) -> bool:
    """Take a waiting message off its queue; its log gets a whole, cancelled run. False if
    it waits nowhere (started, taken off already, or unknown)."""
    try:
        cid = await store.queued_in(run_id)
        if cid is None:
            return False
        record = dict(await store.queue(cid)).get(run_id)
        if record is None or not await store.dequeue(cid, run_id):
            return False
        turn = from_record(record)
        events = cancelled_while_waiting(turn, start_agent, reason)
        rows = [(event.seq, scrub_event(event).model_dump_json()) for event in events]
        await store.append_events(run_id, cid, rows)
    except (StoreUnavailable, ValueError) as exc:
        log.warning("queue.cancel_failed", run_id=run_id, error=str(exc))
        return False
    log.info("queue.cancelled", run_id=run_id, conversation_id=cid, reason=reason)
    return True
