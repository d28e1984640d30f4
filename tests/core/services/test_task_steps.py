"""Moving a task on (`core.services.tasks`) and the `analyzing` status, on SQLite and
PostgreSQL: the claim stays the node's while the analyzer runs, a step never revives a task
that ended meanwhile, and the owner's own steps (cancel, a new number) land."""

from __future__ import annotations

import datetime as dt

import pytest

from core.db import Database
from core.db.models import FeedbackKind, TaskStatus
from core.services import CampaignAction, apply_action
from core.services.tasks import apply_next_step, ask_owner_about_call
from tests.kit import T0, make_campaign, make_task

NOW = T0
LEASE = dt.timedelta(minutes=5)


async def campaign_of(db: Database, user_id: int, *phones: str) -> tuple[int, list[int]]:
    campaign = await make_campaign(db, user_id, objective="Book a cleaning")
    tasks = [
        await make_task(
            db,
            user_id,
            campaign_id=campaign.id,
            target_name=f"T{i}",
            phone=phone,
            due_at=NOW - dt.timedelta(minutes=1),
        )
        for i, phone in enumerate(phones)
    ]
    return campaign.id, [t.id for t in tasks]


async def test_analyzing_keeps_the_nodes_claim_until_the_task_moves_on(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    _, [task_id] = await campaign_of(db, alice, "+12125550101")
    async with db.system() as ops:
        [claim] = await ops.claim_due(node_id="node-a", now=NOW, lease=LEASE, limit=1)
    async with db.scope(bob) as s:
        assert not await s.tasks.start_analysis(task_id, node_id="node-a")
    async with db.scope(alice) as s:
        assert not await s.tasks.start_analysis(task_id, node_id="node-b")  # not its claim
        assert await s.tasks.start_analysis(claim.task_id, node_id="node-a")
        assert not await s.tasks.start_analysis(claim.task_id, node_id="node-a")  # once
        task = await s.tasks.require(task_id)
        assert task.status is TaskStatus.ANALYZING and task.claimed_by == "node-a"
        # The node's lease keeper goes on renewing it; another node cannot.
        assert await s.tasks.extend_lease(task_id, node_id="node-a", until=NOW + 2 * LEASE)
        assert not await s.tasks.extend_lease(task_id, node_id="node-b", until=NOW + 2 * LEASE)
    moved = await apply_next_step(
        db,
        alice,
        task_id,
        outcome="no_answer",
        action="retry_at",
        at=NOW + dt.timedelta(hours=2),
        reason="no answer",
        goal_achieved=False,
        now=NOW,
    )
    assert moved.status is TaskStatus.PENDING and moved.claimed_by is None
    assert moved.lease_expires_at is None


async def test_a_step_never_revives_a_task_that_ended_meanwhile(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    campaign_id, [held, _other] = await campaign_of(db, alice, "+12125550101", "+12125550102")
    async with db.scope(alice) as s:
        await ask_owner_about_call(s, held, None, "the analysis failed")
    # The owner cancels the campaign while the review waits: the review's answer comes late.
    await apply_action(db, alice, campaign_id, CampaignAction.CANCEL)
    after = await apply_next_step(
        db,
        alice,
        held,
        outcome="partial",
        action="retry_at",
        at=NOW,
        reason="the owner asked to call again",
        goal_achieved=False,
        now=NOW,
    )
    assert after.status is TaskStatus.CANCELLED
    async with db.scope(alice) as s:
        assert await s.feedback.list_pending(FeedbackKind.ANALYSIS_REVIEW) == []


@pytest.mark.parametrize(
    ("action", "phone", "status", "number"),
    [
        ("cancel", None, TaskStatus.CANCELLED, "+12125550101"),
        ("retry_at", "+13105550199", TaskStatus.PENDING, "+13105550199"),
        ("done", None, TaskStatus.COMPLETED, "+12125550101"),
    ],
)
async def test_the_owners_steps(
    db: Database,
    two_users: tuple[int, int],
    action: str,
    phone: str | None,
    status: TaskStatus,
    number: str,
) -> None:
    alice, _ = two_users
    _, [task_id] = await campaign_of(db, alice, "+12125550101")
    async with db.scope(alice) as s:
        await ask_owner_about_call(s, task_id, None, "the analysis failed")
    moved = await apply_next_step(
        db,
        alice,
        task_id,
        outcome="partial",
        action=action,
        at=NOW,
        reason="the owner decided",
        goal_achieved=False,
        now=NOW,
        phone=phone,
    )
    assert moved.status is status and moved.phone_e164 == number
    if phone is not None:
        assert list(moved.time_zones) == ["America/Los_Angeles"]


async def test_instructions_are_appended_to_the_tasks_not_ended(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    campaign_id, tasks = await campaign_of(db, alice, "+12125550101", "+12125550102")
    async with db.scope(alice) as s:
        await s.tasks.set_status(tasks[1], TaskStatus.COMPLETED)
    async with db.scope(bob) as s:
        assert await s.tasks.append_instructions(" never", campaign_id=campaign_id) == 0
    async with db.scope(alice) as s:
        assert await s.tasks.append_instructions(" first", campaign_id=campaign_id) == 1
        assert await s.tasks.append_instructions(" second", task_id=tasks[0]) == 1
        rows = await s.tasks.list_for_campaign(campaign_id)
    assert [t.instructions for t in rows] == [" first second", ""]
