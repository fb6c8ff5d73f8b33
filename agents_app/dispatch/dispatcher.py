"""`Dispatcher`: one client's frames → pings, runs started, joined and cancelled, errors.

Every answer to a bad command is decided here (its words are in `replies.py`), so the local
WebSocket, the Cloud Function and `POST /ag-ui` answer alike.
"""

from __future__ import annotations

import asyncio
import dataclasses

import structlog

from agents_app.dispatch.client import Client
from agents_app.dispatch.outbox import Outbox
from agents_app.dispatch.replies import (
    APPROVAL_PENDING,
    BUSY,
    CONFIG_CHANGED,
    INTERNAL,
    LOST_TRACK,
    NO_RUN_TO_CANCEL,
    NOT_PAUSED,
    QUEUE_FULL,
    RATE_LIMITED,
    STORE_DOWN,
    TOO_MANY_CONVERSATIONS,
    Reply,
    error_reply,
    unknown_agent,
)
from agents_app.memory.store import RunRecord, StoreUnavailable
from agents_app.protocol.commands import (
    BadFrame,
    CancelRun,
    JoinRun,
    Ping,
    ResumeRun,
    UserMessage,
    parse_frame,
)
from agents_app.protocol.events import Error, Pong, RunQueued, now_ms
from agents_app.runs.approval import Paused, Resumption, Verdict
from agents_app.runs.conversation import ROLLED_BACK, SUPERSEDED
from agents_app.runs.registry import Runs
from agents_app.runs.turn import Turn

log = structlog.get_logger("agents_app.dispatch")


class Dispatcher:
    def __init__(
        self,
        client: Client,
        outbox: Outbox,
        runs: Runs,
        *,
        timeout_s: float | None = None,
    ) -> None:
        self.client = client
        self.outbox = outbox
        self.runs = runs
        self.engine = runs.engine
        self._timeout_s = timeout_s  # the platform's deadline, for runs started here
        self._deadline = (
            None if timeout_s is None else asyncio.get_running_loop().time() + timeout_s
        )
        outbox.on_terminal(client.note_ended)
        outbox.on_frame(self.engine.metrics.frame_sent)

    def greet(self) -> None:
        """`session.ready`, once per client."""
        if not self.client.greeted:
            self.client.greeted = True
            self.outbox.put(self.engine.session_ready(self.client.id, batch=self.outbox.batch))

    async def handle(self, frame: str | bytes) -> Reply:
        """Act on one inbound frame; errors are also written to the client."""
        try:
            reply = await self._dispatch(frame)
        except StoreUnavailable as exc:
            log.warning("dispatch.store_unavailable", error=str(exc))
            reply = error_reply("unavailable", STORE_DOWN)
        except Exception:
            # A bug of ours must cost this frame, not the client's connection.
            log.exception("dispatch.crashed")
            reply = error_reply("unavailable", INTERNAL)
        if reply.error is not None:
            self.outbox.put(reply.error)
        return reply

    async def _dispatch(self, frame: str | bytes) -> Reply:
        if (limited := self.admit()) is not None:
            return limited
        try:
            command = parse_frame(frame, max_bytes=self.engine.settings.max_frame_bytes)
        except BadFrame as bad:
            return error_reply(bad.code, bad.message)
        match command:
            case Ping():
                self.outbox.put(Pong())
                return Reply()
            case CancelRun():
                return await self.cancel(command.run_id)
            case ResumeRun():
                verdicts = {
                    d.call_id: Verdict(approve=d.approve, message=d.message)
                    for d in command.decisions
                }
                return await self.resume(command.run_id, verdicts)
            case JoinRun():
                return await self.join(
                    run_id=command.run_id,
                    conversation_id=command.conversation_id,
                    after_seq=command.after_seq,
                )
            case UserMessage():
                turn = Turn(
                    conversation_id=command.conversation_id or self.client.id,
                    text=command.text,
                    agent=command.agent,
                    traceparent=self.client.traceparent,
                )
                return await self.start(turn, multitask=command.multitask)
        raise AssertionError(f"unhandled command {command!r}")

    async def start(self, turn: Turn, *, multitask: str | None = None) -> Reply:
        """Start `turn` as a run and follow it.

        `multitask` (else agents.yaml's) decides what happens when the conversation is still
        answering: `reject` (busy), `enqueue` (it waits its turn: `run.queued`), `interrupt`
        (that run ends `superseded`, this one starts with what it said in memory) or
        `rollback` (the same, its turn taken out of memory).
        """
        graph = self.engine.graph
        # A resumed run carries SDK state that is never queued: it starts now or not at all.
        strategy = "reject" if turn.resume is not None else multitask or graph.config.multitask
        superseding = strategy in ("interrupt", "rollback")
        if self.client.busy and not (
            strategy == "enqueue" or (superseding and self._follows(turn.conversation_id))
        ):
            return error_reply("busy", BUSY)
        if turn.agent is not None and turn.agent not in graph.agents:
            return error_reply("bad_request", unknown_agent(turn.agent, list(graph.agents)))
        conversation = turn.conversation_id
        client = self.client
        if conversation not in client.conversations:
            if len(client.conversations) >= self.engine.settings.max_conversations_per_connection:
                return error_reply("rate_limited", TOO_MANY_CONVERSATIONS)
            client.conversations.add(conversation)
        client.conversation = conversation
        if turn.resume is None and (waiting := await self._pending_approval(conversation)):
            if self.engine.settings.approval_on_message == "refuse":
                return error_reply("approval_pending", APPROVAL_PENDING.format(run_id=waiting))
            # The person moved on: the waiting calls are refused by never running; the model
            # does not see a call left without its result (the SDK leaves it out).
            await self.engine.store.take_approval(waiting)
            log.info("approval.dropped_for_new_message", run_id=waiting)
        position: int | None = None
        run = await self.runs.start(turn, graph=graph, timeout_s=self._timeout_s)
        if run is not None:
            client.started = [*client.started[-15:], run.run_id]
            return Reply(run=run, follow=self._follow(RunRecord(run.run_id, conversation, True)))
        if strategy == "enqueue":
            position = await self.runs.enqueue(turn)
            if position is None:
                return error_reply("busy", QUEUE_FULL)
            self.outbox.put(
                RunQueued(run_id=turn.run_id, conversation_id=conversation, position=position)
            )
            log.info("run.queued", run_id=turn.run_id, position=position)
        elif superseding:
            # It waits at the front until the running run has stopped, then starts (here, or
            # wherever that run ended): no other message can take the conversation meanwhile.
            reason = SUPERSEDED if strategy == "interrupt" else ROLLED_BACK
            await self.runs.enqueue(turn, front=True)
            await self.runs.cancel(conversation_id=conversation, reason=reason)
            log.info("run.superseding", reason=reason, by=turn.run_id)
        else:
            return error_reply("busy", BUSY)
        client.started = [*client.started[-15:], turn.run_id]
        record = RunRecord(turn.run_id, conversation, running=True, queued=True)
        return Reply(
            follow=self._follow(
                record,
                position=position if strategy == "enqueue" else None,
                first=superseding,
            )
        )

    async def resume(
        self, run_id: str, verdicts: dict[str, Verdict], *, run_id_next: str | None = None
    ) -> Reply:
        """Go on with a run that paused for approval: a decision for every call that waits."""
        if self.client.busy:
            return error_reply("busy", BUSY)
        store = self.engine.store
        try:
            found = await store.approval(run_id)
        except StoreUnavailable:
            return error_reply("unavailable", STORE_DOWN)
        paused = _paused(found[1]) if found is not None else None
        if paused is None:
            return error_reply("not_found", NOT_PAUSED.format(run_id=run_id))
        waiting = {call.call_id for call in paused.pending}
        if set(verdicts) != waiting:
            missing, unknown = sorted(waiting - set(verdicts)), sorted(set(verdicts) - waiting)
            detail = "; ".join(
                part
                for part in (
                    f"no decision for {', '.join(missing)}" if missing else "",
                    f"no call {', '.join(unknown)} waits" if unknown else "",
                )
                if part
            )
            return error_reply(
                "bad_request", f"Decide every call that waits, and only those: {detail}."
            )
        if paused.config != self.engine.graph.fingerprint:
            return error_reply("bad_request", CONFIG_CHANGED.format(run_id=run_id))
        # Taken once: a second resume, from here or anywhere, finds nothing to act on.
        if not await store.take_approval(run_id):
            return error_reply("not_found", NOT_PAUSED.format(run_id=run_id))
        turn = Turn(
            conversation_id=paused.conversation_id,
            text="",
            agent=paused.pending[0].agent,
            resume=Resumption(paused, verdicts),
            traceparent=self.client.traceparent,
        )
        if run_id_next is not None:  # a client that names its runs (AG-UI)
            turn = dataclasses.replace(turn, run_id=run_id_next)
        reply = await self.start(turn)
        if reply.error is not None:
            # Not started (busy, caps): the approval waits on, as it was.
            ttl_s = max(1.0, (paused.expires_at - now_ms()) / 1000)
            await store.save_approval(run_id, paused.conversation_id, paused.to_record(), ttl_s)
        return reply

    async def _pending_approval(self, conversation_id: str) -> str | None:
        try:
            return await self.engine.store.pending_approval(conversation_id)
        except StoreUnavailable:
            return None  # the run itself will report the store

    async def join(
        self, *, run_id: str | None, conversation_id: str | None, after_seq: int
    ) -> Reply:
        if self.client.busy:
            return error_reply("busy", BUSY)
        if run_id is None and conversation_id is None:
            conversation_id = self.client.conversation
        record = await self.runs.find(run_id=run_id, conversation_id=conversation_id)
        if record is None:
            what = f"run {run_id!r}" if run_id else f"run in conversation {conversation_id!r}"
            return error_reply("not_found", f"No {what}: unknown, or its log has expired.")
        self.client.conversation = record.conversation_id
        return Reply(follow=self._follow(record, after_seq))

    async def cancel(self, run_id: str | None = None) -> Reply:
        client = self.client
        if run_id is None and self.client.busy:
            run_id = client.current_run
        cancelled = await self.runs.cancel(
            run_id=run_id,
            conversation_id=None if run_id else client.conversation,
            reason="cancelled by client",
        )
        return Reply() if cancelled else error_reply("bad_request", NO_RUN_TO_CANCEL)

    def _follows(self, conversation_id: str) -> bool:
        run = self.runs.local(self.client.current_run or "")
        return run is None or run.turn.conversation_id == conversation_id

    def _follow(
        self,
        record: RunRecord,
        after_seq: int = 0,
        *,
        position: int | None = None,
        first: bool = False,
    ) -> asyncio.Task[bool]:
        """Follow `record` to its end — after the runs this client already follows, so a
        queued message's run reaches it after the one before it. `position`: the queued
        message's place, announced again (`run.queued`) whenever it moves up. `first`: it
        goes before the messages already waiting (it supersedes the running run)."""
        client = self.client
        tail = client.following if client.following and not client.following.done() else None
        current = client.current if client.current and not client.current.done() else None
        before = current if first and current is not None else tail
        task = asyncio.create_task(
            self._follow_to_end(record, after_seq, before, position),
            name=f"follow:{record.run_id}",
        )
        if not (first and tail is not None and tail is not current):
            # The last of the runs this client waits for: it is busy until that one ends.
            client.following, client.following_run = task, record.run_id
            client.following_ended = False
        return task

    async def _follow_to_end(
        self,
        record: RunRecord,
        after_seq: int,
        before: asyncio.Task[bool] | None = None,
        position: int | None = None,
    ) -> bool:
        announced = position

        def moved(now: int) -> None:
            nonlocal announced
            if announced is not None and now != announced:
                announced = now
                cid = record.conversation_id
                self.outbox.put(RunQueued(run_id=record.run_id, conversation_id=cid, position=now))

        if before is not None:
            try:
                await asyncio.wait([before])
            except asyncio.CancelledError:
                before.cancel()  # the client went away: stop following the earlier runs too
                raise
        self.client.current_run = record.run_id
        self.client.current = asyncio.current_task()
        reached = await self.runs.follow(
            record, self.outbox, after_seq, moved=moved, deadline=self._deadline
        )
        if not reached and not self.outbox.closed:
            # The client is still here but the run's end will not come (its log expired, or
            # the store is unreachable): say so rather than leave it waiting.
            self.outbox.put(Error(code="unavailable", message=LOST_TRACK))
        return reached

    def admit(self) -> Reply | None:
        """The rate limit, for every frame or request: an error reply when over it."""
        return None if self.client.rate.take() else error_reply("rate_limited", RATE_LIMITED)

    async def client_gone(self, reason: str = "client disconnected") -> None:
        await client_gone(self.client, self.runs, reason)


async def client_gone(client: Client, runs: Runs, reason: str = "client disconnected") -> None:
    """The client vanished: stop following; with `on_disconnect: cancel`, stop its runs."""
    if client.following is not None and not client.following.done():
        client.following.cancel()
    if runs.engine.on_disconnect != "cancel" or not client.started:
        return
    latest = client.started[-1]
    for run_id in client.started:
        run = runs.local(run_id)
        if run is not None:
            run.cancel(reason)
    if runs.local(latest) is None:
        # Its last run may be going on another instance: that one learns of it through the
        # store (only if that very run still holds its conversation).
        await runs.cancel(run_id=latest, reason=reason)


def _paused(record: str) -> Paused | None:
    try:
        return Paused.from_record(record)
    except (ValueError, TypeError, KeyError):
        log.warning("approval.unreadable_record")  # written by another version: not resumable
        return None
