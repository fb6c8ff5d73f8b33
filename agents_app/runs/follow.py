"""Following a run through the store: the run is elsewhere (another process or instance),
or already over.

Reads the log after the last seq delivered, blocking a little for more, until the terminal
event. A run whose process died never writes one: when its conversation lock has lapsed and
the log stays quiet, the follower writes `run.failed` itself, at the next seq — the store
takes each seq once, so two followers cannot both end it.
"""

from __future__ import annotations

import time

import structlog

from agents_app.memory.store import ConversationStore, RunRecord, SeqTaken, StoreUnavailable
from agents_app.protocol.events import RunEvent, RunFailed, server_event_adapter
from agents_app.runs.log import Subscriber, is_terminal

log = structlog.get_logger("agents_app.runs.follow")
WAIT_S = 1.0
# A run's lock is refreshed every 2 s and released just before its terminal event is
# logged; this long without either means the process running it is gone.
ORPHAN_AFTER_S = 10.0
LOST = "The run stopped unexpectedly on the server; please send your message again."


def parse_logged(raw: str) -> RunEvent:
    event = server_event_adapter.validate_json(raw)
    assert isinstance(event, RunEvent)
    return event


async def follow_logged(
    store: ConversationStore, record: RunRecord, subscriber: Subscriber, after_seq: int
) -> bool:
    last = after_seq
    quiet_since = time.monotonic()
    try:
        if after_seq:
            earlier = await store.read_events(record.run_id, 0)
            subscriber.prime([parse_logged(raw) for seq, raw in earlier if seq <= after_seq])
        while not subscriber.closed:
            rows = await store.read_events(record.run_id, last, wait_s=WAIT_S)
            if not rows:
                if time.monotonic() - quiet_since > ORPHAN_AFTER_S:
                    quiet_since = time.monotonic()
                    if await _end_if_orphaned(store, record, last):
                        continue  # the next read returns the run.failed just written
                    if await store.find_run(run_id=record.run_id) is None:
                        return False  # expired while we waited
                continue
            quiet_since = time.monotonic()
            events = [parse_logged(raw) for _, raw in rows]
            await subscriber.deliver(events)
            last = rows[-1][0]
            if any(is_terminal(event) for event in events):
                return not subscriber.closed
    except StoreUnavailable as exc:
        log.warning("follow.store_failed", run_id=record.run_id, error=str(exc))
    return False


async def _end_if_orphaned(store: ConversationStore, record: RunRecord, last: int) -> bool:
    current = await store.find_run(run_id=record.run_id)
    if current is None or current.running:
        return False
    lost = RunFailed(
        run_id=record.run_id,
        conversation_id=record.conversation_id,
        seq=last + 1,
        code="internal",
        message=LOST,
        retryable=True,
    )
    try:
        await store.append_events(
            record.run_id, record.conversation_id, [(lost.seq, lost.model_dump_json())]
        )
    except SeqTaken:
        return True  # the run (or another follower) wrote it after all
    log.warning("follow.orphaned_run_ended", run_id=record.run_id, seq=lost.seq)
    return True
