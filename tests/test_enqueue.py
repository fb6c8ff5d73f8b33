"""multitask `enqueue` (DESIGN §3a): a message sent while the conversation answers waits its
turn — in order, across connections, instances and the Cloud Function — and is never lost
nor answered twice."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from agents_app.engine import Engine
from tests.conftest import (
    assert_whole_run,
    is_terminal,
    live_server,
    offline_settings,
    ready,
    recv_until,
)
from tests.redis_server import RedisServer
from tests.test_gateway import function_env, gateway  # noqa: F401 (fixtures)
from tests.test_multitask import (
    agui_on_a_busy_thread,
    message,
    paced,
    runs_of,
    started_answering,
)
from tests.test_runs_redis import ServerProcess

JOKE = "Tell me a joke about programming"


def completed(n: int) -> Any:
    count = 0

    def done(event: dict[str, Any]) -> bool:
        nonlocal count
        count += event["type"] == "run.completed"
        return count == n

    return done


async def test_three_messages_on_one_connection_come_out_in_order_each_run_whole() -> None:
    engine = paced()
    async with live_server(engine) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(message(JOKE, multitask="enqueue"))
        first = await started_answering(ws)
        await ws.send(message("Tell me a joke about cats", multitask="enqueue"))
        await ws.send(message("Tell me a joke about dogs", multitask="enqueue"))
        events = first + await recv_until(ws, completed(3))
        items = await engine.store.session(first[0]["conversation_id"]).get_items()
    queued = [e for e in events if e["type"] == "run.queued"]
    runs = list(runs_of([e for e in events if e["type"] != "run.queued"]).values())
    assert [run[0]["input"] for run in runs] == [
        JOKE,
        "Tell me a joke about cats",
        "Tell me a joke about dogs",
    ]
    for run in runs:
        assert_whole_run(run)
        assert run[-1]["type"] == "run.completed"
    # One run after the other: no event of a run after the next one began.
    order = [e["run_id"] for e in events if "seq" in e]
    assert order == sorted(order, key=[run[0]["run_id"] for run in runs].index)
    # Announced in place, then moved up as the first answer ended.
    cats, dogs = runs[1][0]["run_id"], runs[2][0]["run_id"]
    assert [(q["run_id"], q["position"]) for q in queued] == [(cats, 1), (dogs, 2), (dogs, 1)]
    # Each message answered once: in memory once, in order.
    said = [item.get("content") for item in items if item.get("role") == "user"]
    assert said == [JOKE, "Tell me a joke about cats", "Tell me a joke about dogs"]


async def test_enqueue_from_another_connection_runs_after_the_answer_it_waited_for() -> None:
    async with live_server(paced()) as live, live.connect() as a, live.connect() as b:
        await ready(a)
        await ready(b)
        await a.send(message(JOKE, conversation_id="q"))
        await started_answering(a)
        await b.send(message("Tell me a joke about cats", conversation_id="q", multitask="enqueue"))
        first = await recv_until(a, is_terminal)
        second = await recv_until(b, is_terminal)
    [announced] = [e for e in second if e["type"] == "run.queued"]
    run = [e for e in second if "seq" in e]
    assert announced["position"] == 1 and announced["run_id"] == run[0]["run_id"]
    assert_whole_run(run)
    assert run[-1]["type"] == "run.completed" and "cats" in run[-1]["final_output"]
    assert first[-1]["type"] == "run.completed"
    assert run[0]["ts"] >= first[-1]["ts"]  # it began after the answer before it had ended


async def test_a_full_queue_answers_busy_and_queues_nothing() -> None:
    engine = Engine.from_settings(offline_settings(offline_pace_s=0.02, max_queue=1))
    async with live_server(engine) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(message(JOKE, conversation_id="f"))
        await started_answering(ws)
        await ws.send(message("one", conversation_id="f", multitask="enqueue"))
        await ws.send(message("two", conversation_id="f", multitask="enqueue"))
        events = await recv_until(ws, lambda e: e["type"] == "error")
        events += await recv_until(ws, completed(2))
    [error] = [e for e in events if e["type"] == "error"]
    assert error["code"] == "busy" and "waiting" in error["message"]
    inputs = [e["input"] for e in events if e["type"] == "run.started"]
    assert inputs == ["one"]  # the first answer's run.started came before this slice


async def test_cancelling_a_queued_message_takes_it_off_the_queue() -> None:
    engine = paced()
    async with live_server(engine) as live, live.connect() as a, live.connect() as b:
        await ready(a)
        await ready(b)
        await a.send(message(JOKE, conversation_id="x"))
        await started_answering(a)
        await b.send(message("Tell me about cats", conversation_id="x", multitask="enqueue"))
        [queued] = await recv_until(b, lambda e: e["type"] == "run.queued")
        await b.send(json.dumps({"type": "run.cancel", "run_id": queued["run_id"]}))
        withdrawn = await recv_until(b, is_terminal)
        answered = await recv_until(a, is_terminal)
        assert await engine.store.queue("x") == []
        history = json.dumps(await engine.store.session("x").get_items())
    assert_whole_run(withdrawn)
    assert [e["type"] for e in withdrawn] == ["run.started", "run.cancelled"]
    assert withdrawn[-1]["run_id"] == queued["run_id"]
    assert answered[-1]["type"] == "run.completed"  # the running answer was not touched
    assert "cats" not in history  # and the withdrawn message never ran


async def test_interrupt_goes_before_the_messages_already_waiting() -> None:
    async with live_server(paced()) as live, live.connect() as ws:
        await ready(ws)
        await ws.send(message(JOKE))
        first = await started_answering(ws)
        await ws.send(message("Tell me a joke about dogs", multitask="enqueue"))
        await ws.send(message("Tell me a joke about cats", multitask="interrupt"))
        events = first + await recv_until(ws, completed(2))
    runs = list(runs_of([e for e in events if e["type"] != "run.queued"]).values())
    assert [run[0]["input"] for run in runs] == [
        JOKE,
        "Tell me a joke about cats",
        "Tell me a joke about dogs",
    ]
    assert runs[0][-1]["type"] == "run.cancelled" and runs[0][-1]["reason"] == "superseded"
    for run in runs:
        assert_whole_run(run)


async def test_enqueue_through_the_cloud_function(gateway: Any) -> None:  # noqa: F811
    from tests.test_gateway import connect as gateway_connect

    async with gateway_connect(gateway) as a, gateway_connect(gateway) as b:
        await a.send(message(JOKE, conversation_id="g"))
        await recv_until(a, lambda e: e["type"] == "text.delta")
        await b.send(message("cats", conversation_id="g", multitask="enqueue"))
        first = await recv_until(a, is_terminal)
        second = await recv_until(b, is_terminal)
    assert first[-1]["type"] == "run.completed"
    assert next(e["type"] for e in second if e["type"] != "session.ready") == "run.queued"
    run = [e for e in second if "seq" in e]
    assert_whole_run(run)
    assert run[-1]["type"] == "run.completed" and run[0]["input"] == "cats"


async def test_a_queued_message_outlives_the_instance_that_queued_it(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    engine = Engine.from_settings(
        offline_settings(session_store=redis_server.url, offline_pace_s=0.03)
    )
    other = ServerProcess(redis_server.url, tmp_path / "other", pace_s=0.03)
    try:
        await other.ready()
        async with live_server(engine) as live, live.connect() as here:
            await ready(here)
            await here.send(message(JOKE, conversation_id="d"))
            await started_answering(here)
            async with connect(other.url, max_size=None) as there:
                await there.recv()  # session.ready
                await there.send(message("cats", conversation_id="d", multitask="enqueue"))
                [queued] = await recv_until(there, lambda e: e["type"] == "run.queued")
                other.stop()  # the instance that queued it dies, its client with it
            await recv_until(here, is_terminal)
            # Nobody waits for it any more: the instance whose run ended starts it by itself.
            async with asyncio.timeout(10):
                while await engine.store.find_run(run_id=queued["run_id"]) is None:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            await here.send(json.dumps({"type": "run.join", "run_id": queued["run_id"]}))
            joined = await recv_until(here, is_terminal)
    finally:
        other.stop()
    assert_whole_run(joined)
    assert joined[0]["input"] == "cats" and joined[-1]["type"] == "run.completed"


async def test_agui_enqueues_on_a_busy_thread(tmp_path: Path) -> None:
    response, ended = await agui_on_a_busy_thread(tmp_path, "enqueue", "run-agui-queued")
    assert ended[-1]["type"] == "run.completed"  # the answer it waited for was not cut short
    assert response.status_code == 200
    frames = [
        json.loads(line.removeprefix("data: "))
        for line in response.text.splitlines()
        if line.startswith("data: ")
    ]
    kinds = [f["type"] for f in frames]
    assert kinds[0] == "CUSTOM" and frames[0]["name"] == "run.queued"
    assert kinds[1] == "RUN_STARTED" and frames[1]["runId"] == "run-agui-queued"
    assert kinds[-1] == "RUN_FINISHED"
