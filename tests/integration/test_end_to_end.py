"""The whole loop on the real development PBX: plan → approval → claimed tasks → calls to the
simulated callees → bridge → hang-up → analysis → next step → lifecycle summary.

Real parts: Asterisk 22 with its simulated callees over a SIP leg, AMI, AudioSocket, the bridge,
the database (SQLite and PostgreSQL), the graphs with their checkpoints. Stand-ins: the
Realtime-protocol server (scripted agent turns) and the rehearsal chat models.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from zoneinfo import ZoneInfo

import pytest

from agents.call_agent.rehearsal import script_selector
from agents.schemas import CampaignPlan, StopRule, Target
from app.attempt_runner import AttemptOutcome
from app.node import Node, PartsWanted
from app.rehearsal import node_settings
from core.db import Database, utcnow  # noqa: TID251  (the node under test runs on real time)
from core.db.models import CallOutcome, CampaignStatus, TaskStatus
from core.rules import RetryPolicy
from core.settings import Settings
from media.realtime_server import RealtimeTestServer, Script
from media.realtime_server.responses import SimOptions
from tests.integration.scheduling import dispatching
from tests.kit import make_user, until

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

NY = ZoneInfo("America/New_York")
QUICK = RetryPolicy(
    delays={
        "busy": dt.timedelta(seconds=2),
        "no_answer": dt.timedelta(seconds=2),
        "congestion": dt.timedelta(seconds=2),
        "technical_failure": dt.timedelta(seconds=2),
        "failed": dt.timedelta(seconds=2),
        "voicemail": dt.timedelta(seconds=2),
    }
)


class Harness:
    def __init__(
        self, node: Node, db: Database, user_id: int, outcomes: list[AttemptOutcome]
    ) -> None:
        self.node = node
        self.db = db
        self.user_id = user_id
        self.outcomes = outcomes

    async def approve(self, plan: CampaignPlan, plan_id: str) -> int:
        runner = self.node.graphs.runner
        orch = await runner.start_orchestration(self.user_id, plan, plan_id=plan_id)
        assert orch.feedback_id is not None, orch
        await runner.answer_feedback(self.user_id, orch.feedback_id, {"type": "accept"})
        async with self.db.scope(self.user_id) as s:
            (campaign,) = [c for c in await s.campaigns.list() if c.thread_id == orch.thread_id]
        assert campaign.status is CampaignStatus.ACTIVE
        return campaign.id

    async def tasks(self, campaign_id: int) -> dict[str, object]:
        async with self.db.scope(self.user_id) as s:
            return {t.phone_e164: t for t in await s.tasks.list_for_campaign(campaign_id)}

    async def calls_of(self, task_id: int) -> list[object]:
        async with self.db.scope(self.user_id) as s:
            return list(await s.calls.list_for_task(task_id))

    async def wait(self, check: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
        await until(
            dispatching(self.node, check),
            timeout_s,
            lambda: f"{what}; outcomes so far: {self.outcomes}",
            step=0.5,
        )


@pytest.fixture
async def harness(db: Database, pbx_settings: Settings) -> AsyncIterator[Harness]:
    default = Script(responses=[])
    async with RealtimeTestServer(
        default,
        options=SimOptions(realtime_factor=2.0),
        select_script=script_selector(),
    ) as sim:
        settings = node_settings(pbx_settings, sim.url).model_copy(
            update={"database_url": db.url, "max_concurrent_calls": 1}
        )
        outcomes: list[AttemptOutcome] = []
        node = Node(
            settings,
            db,
            PartsWanted(ui=False),
            retry=QUICK,
            ring_timeout_s=6,
            on_outcome=outcomes.append,
            safety_interval_s=0.5,
            lifecycle_interval_s=3600,
        )
        user_id = await make_user(db, "owner", display_name="Alex Morgan")
        try:
            await node.start("graphs")
            yield Harness(node, db, user_id, outcomes)
        finally:
            await node.stop()


async def start_calling(h: Harness) -> None:
    await h.node.start()
    assert h.node.telephony is not None
    await h.node.telephony.ami.wait_connected(20)


async def test_the_whole_loop(harness: Harness) -> None:
    h = harness
    plan = CampaignPlan(
        name="Dentists, call everyone",
        objective="Book a dental cleaning next week.",
        targets=[
            Target(name="Park Slope Dental", phone="+12125550102"),  # busy
            Target(name="Quiet Ring Dental", phone="+12125550103"),  # never answers
            Target(name="Quiet Street Dental", phone="+12125550108"),  # "do not call again"
            Target(name="Busy Bee Dental", phone="+12125550109"),  # "call back Thursday after 3"
            Target(name="Blocked Dental", phone="+12125550104"),  # put on DNC before dialling
        ],
        stop_rule=StopRule.CALL_EVERYONE,
        max_attempts=2,
    )
    campaign_id = await h.approve(plan, "everyone")
    tasks = await h.tasks(campaign_id)
    assert len(tasks) == 5
    async with h.db.scope(h.user_id) as s:
        await s.dnd.add("+12125550104", reason="asked by letter")
    await start_calling(h)

    async def first_campaign_settled() -> bool:
        t = await h.tasks(campaign_id)
        callback = t["+12125550109"]
        return (
            all(
                t[n].status is not TaskStatus.PENDING and t[n].status is not TaskStatus.CLAIMED  # type: ignore[attr-defined]
                for n in ("+12125550102", "+12125550103", "+12125550108", "+12125550104")
            )
            and callback.status is TaskStatus.PENDING  # type: ignore[attr-defined]
            and callback.due_at > utcnow() + dt.timedelta(hours=1)  # type: ignore[attr-defined]
        )

    await h.wait(first_campaign_settled, 240, "the first campaign to settle")
    t = await h.tasks(campaign_id)

    busy = t["+12125550102"]
    busy_calls = await h.calls_of(busy.id)  # type: ignore[attr-defined]
    assert busy.status is TaskStatus.FAILED  # type: ignore[attr-defined]
    assert [c.outcome for c in busy_calls] == [CallOutcome.BUSY, CallOutcome.BUSY]  # type: ignore[attr-defined]
    assert busy_calls[1].created_at > busy_calls[0].ended_at  # type: ignore[attr-defined]  # retried later

    no_answer = t["+12125550103"]
    assert no_answer.status is TaskStatus.FAILED  # type: ignore[attr-defined]
    assert no_answer.attempts == 2  # type: ignore[attr-defined]
    assert [c.outcome for c in await h.calls_of(no_answer.id)] == [CallOutcome.NO_ANSWER] * 2  # type: ignore[attr-defined]

    opt_out = t["+12125550108"]
    assert opt_out.status is TaskStatus.COMPLETED  # type: ignore[attr-defined]
    assert opt_out.last_outcome == "opt_out"  # type: ignore[attr-defined]
    assert len(await h.calls_of(opt_out.id)) == 1  # type: ignore[attr-defined]
    async with h.db.scope(h.user_id) as s:
        assert await s.dnd.blocking_list("+12125550108") == "user"

    callback = t["+12125550109"]
    due_local = callback.due_at.astimezone(NY)  # type: ignore[attr-defined]
    assert due_local.weekday() == 3  # Thursday
    assert due_local.hour >= 15
    assert callback.last_outcome == "callback_requested"  # type: ignore[attr-defined]

    blocked = t["+12125550104"]
    assert blocked.status is TaskStatus.CANCELLED  # type: ignore[attr-defined]
    assert await h.calls_of(blocked.id) == []  # type: ignore[attr-defined]  # no Originate ever

    # The opted-out number is never called again, even in a new campaign.
    again = CampaignPlan(
        name="Second try",
        objective="Book a cleaning.",
        targets=[
            Target(name="Quiet Street Dental", phone="+12125550108"),
            Target(name="Bright Smile Dental", phone="+12125550101"),
            Target(name="Quiet Ring Dental", phone="+12125550103"),
        ],
        stop_rule=StopRule.FIRST_SUCCESS,
        max_attempts=2,
    )
    second = await h.approve(again, "first-success")

    async def second_campaign_closed() -> bool:
        await h.node.graphs.runner.lifecycle_pass(h.user_id)
        async with h.db.scope(h.user_id) as s:
            return (await s.campaigns.require(second)).status is CampaignStatus.COMPLETED

    await h.wait(second_campaign_closed, 180, "the first-success campaign to close")
    t2 = await h.tasks(second)
    assert t2["+12125550101"].last_outcome == "achieved"  # type: ignore[attr-defined]
    sibling = t2["+12125550103"]
    assert sibling.status is TaskStatus.CANCELLED  # type: ignore[attr-defined]
    assert await h.calls_of(sibling.id) == []  # type: ignore[attr-defined]  # never started
    if "+12125550108" in t2:
        assert await h.calls_of(t2["+12125550108"].id) == []  # type: ignore[attr-defined]
    async with h.db.scope(h.user_id) as s:
        closed = await s.campaigns.require(second)
    assert closed.summary
    assert "Bright Smile Dental" in closed.summary
