"""A node with two media worker processes, through the development PBX: each call is carried by
the worker the node gave it to (and listened in on through the node), and killing one worker
mid-call ends only that worker's call —
marked a technical failure and dialled again by the retry rules — while the other worker's call
goes on to its end; the node starts a new worker in the dead one's place."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
from collections.abc import AsyncIterator

import pytest

from agents.schemas import CampaignPlan, Target
from core.db import Database
from core.db.models import Call, CallState
from core.domain import AttemptResult, CallOutcome
from core.rules import RetryPolicy
from core.settings import Settings
from media.listen import decode_records
from media.realtime_server import CallTool, Say, Script, ScriptedResponse
from media.workers import WORKER_STOPPED
from tests.integration.scheduling import dispatching
from tests.integration.voice_rig import Rig, open_rig
from tests.kit import until

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

HOLD = "+12125550110"  # "Hello?", then 20 s of hold music, then Maria
SCREENER = "+12125550111"  # a call screener, then Dana
KEPT, KILLED = "Riverside Clinic", "Dana Whitfield"
DANA = "Hi Dana, I'm calling for Alex Morgan about your appointment on Tuesday."
MARIA = "Hi Maria, I'd like to book a check-up for Alex."


def goodbye(reason: str) -> ScriptedResponse:
    return ScriptedResponse(
        outputs=[
            Say(text="Thank you, goodbye."),
            CallTool(name="end_call", arguments={"reason": reason}),
        ]
    )


SCRIPTS = {
    KEPT: Script(
        responses=[
            ScriptedResponse(outputs=[Say(text="Hi, this is an assistant calling for Alex.")]),
            ScriptedResponse(outputs=[Say(text="Sure, I'll hold."), CallTool(name="wait_on_hold")]),
            ScriptedResponse(outputs=[CallTool(name="wait_on_hold")]),
            ScriptedResponse(outputs=[Say(text=MARIA)]),
            goodbye("booked"),
        ],
        caller_transcripts=[
            "Hello?",
            "One moment please, I'll put you on hold.",
            "",
            "Thanks for holding, this is Maria, how can I help you?",
            "Sure, Wednesday at two works, you're booked. Goodbye.",
        ],
    ),
    KILLED: Script(
        responses=[
            ScriptedResponse(
                outputs=[
                    Say(text="Hi, this is an assistant calling for Alex Morgan about Dana."),
                    CallTool(name="wait_on_hold"),
                ]
            ),
            ScriptedResponse(outputs=[CallTool(name="wait_on_hold")]),
            ScriptedResponse(outputs=[Say(text=DANA)]),
            goodbye("message passed on"),
        ],
        caller_transcripts=[
            "The person you are calling uses a screening service, please say your name and "
            "why you are calling.",
            "Please stay on the line.",
            "Hello, this is Dana, sorry to keep you waiting, what can I do for you?",
            "Okay, I'll pass that on. Bye.",
        ],
    ),
}


# A technical failure is retried after a second instead of three minutes.
RETRY = RetryPolicy(
    delays={**RetryPolicy().delays, AttemptResult.TECHNICAL_FAILURE: dt.timedelta(seconds=1)}
)


@pytest.fixture
async def rig(db: Database, pbx_settings: Settings) -> AsyncIterator[Rig]:
    async with open_rig(
        db, pbx_settings, SCRIPTS, settings={"media_workers": 2}, retry=RETRY
    ) as rig:
        yield rig


async def test_a_killed_media_worker_ends_only_its_calls_which_are_retried(rig: Rig) -> None:
    node = rig.node
    workers = node.workers
    assert workers is not None and node.media is None  # the calls' audio is not in this process
    plan = CampaignPlan(
        name="Two clinics",
        objective="Book a check-up.",
        targets=[Target(name=KEPT, phone=HOLD), Target(name=KILLED, phone=SCREENER)],
        max_attempts=2,
    )
    runner = node.graphs.runner
    orch = await runner.start_orchestration(rig.user_id, plan, plan_id="two-clinics")
    assert orch.feedback_id is not None
    await runner.answer_feedback(rig.user_id, orch.feedback_id, {"type": "accept"})
    async with rig.db.scope(rig.user_id) as s:
        (campaign,) = await s.campaigns.list()
        tasks = {t.target_name: t for t in await s.tasks.list_for_campaign(campaign.id)}

    async def first_calls() -> dict[str, Call] | None:
        calls: dict[str, Call] = {}
        async with rig.db.scope(rig.user_id) as s:
            for name, task in tasks.items():
                rows = await s.calls.list_for_task(task.id)
                if not rows:
                    return None
                calls[name] = rows[0]
        return calls

    first = await until(dispatching(node, first_calls), 60, "both calls placed", step=0.5)
    assert first is not None

    def mid_call() -> bool:
        # Both calls up, each on a worker of its own; Maria's hold music has begun.
        placed = [workers.bridge(c.call_uuid) for c in first.values()]
        return all(placed) and bool(rig.user_events("SimHold", first[KEPT].call_uuid))

    await until(mid_call, 60, "both calls in conversation")
    killed_call = workers.bridge(first[KILLED].call_uuid)
    assert killed_call is not None and not killed_call.finished.is_set()  # still in conversation
    # The owner can listen in on a call a worker carries: its mix comes through the node.
    line = workers.lines.line(rig.user_id, first[KEPT].id)
    assert line is not None and workers.lines.line(rig.user_id + 1, first[KEPT].id) is None
    listener = line.listen()
    assert listener is not None
    heard = 0
    async with contextlib.aclosing(listener.records()) as records:
        async for record in records:
            heard += sum(len(ulaw) for ulaw, _ in decode_records(record)[0])
            if heard >= 8000:  # one second of the call
                break
    assert heard >= 8000
    kept_worker = workers.worker_of(first[KEPT].call_uuid)
    killed_worker = workers.worker_of(first[KILLED].call_uuid)
    assert {kept_worker, killed_worker} == {0, 1}  # one call per worker
    assert killed_worker is not None and kept_worker is not None
    pid = workers.pids[killed_worker]
    assert pid is not None
    os.kill(pid, signal.SIGKILL)

    async def settled() -> dict[str, list[Call]] | None:
        rows: dict[str, list[Call]] = {}
        async with rig.db.scope(rig.user_id) as s:
            for name, task in tasks.items():
                rows[name] = list(await s.calls.list_for_task(task.id))
                status = (await s.tasks.require(task.id)).status
                if status.value in ("pending", "claimed") or any(
                    c.state is not CallState.ENDED for c in rows[name]
                ):
                    return None
        return rows if len(rows[KILLED]) == 2 else None

    calls = await until(dispatching(node, settled), 180, "the killed call retried and ended")
    assert calls is not None

    # The killed worker's call: a technical failure saying why, and dialled once more.
    killed_first, retried = calls[KILLED]
    assert killed_first.outcome is CallOutcome.TECHNICAL_FAILURE
    assert killed_first.end_reason == WORKER_STOPPED
    assert (killed_first.attempt, retried.attempt) == (1, 2)
    assert retried.outcome is not CallOutcome.TECHNICAL_FAILURE
    assert DANA in [t["text"] for t in retried.transcript if t["role"] == "agent"]
    # The other worker's call went on after the kill: Maria was answered and it ended as planned.
    (kept,) = calls[KEPT]
    assert kept.outcome is CallOutcome.ANSWERED and kept.end_reason != WORKER_STOPPED
    assert MARIA in [t["text"] for t in kept.transcript if t["role"] == "agent"]
    # The dead worker was replaced (the same port), the other one was never restarted.
    assert workers.workers[killed_worker].starts == 2
    assert workers.workers[kept_worker].starts == 1
    assert workers.pids[killed_worker] not in (None, pid)
