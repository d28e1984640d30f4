"""Lifecycle manager passes: the model proposes, the guards dispose, the actions land in the DB."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.db import Database
from core.db.models import CampaignStatus, FeedbackKind, StopRule, TaskStatus
from core.domain import StoredAnalysis
from graphs import GraphRunner
from tests.graphs.conftest import NOW, RunnerFactory, fake, seed_call, tool_call
from tests.kit import FakeClock

WON: dict[str, Any] = {
    "outcome": "achieved",
    "goal_achieved": True,
    "summary": "Booked Tuesday 9:30.",
    "facts": [
        {"name": "appointment", "value": "Tue 9:30", "quote": "Tuesday at 9:30", "supported": True}
    ],
    "next_step": {"action": "cancel_siblings", "reason": "goal achieved"},
    "confidence": 0.9,
    "final": True,
}


async def claim(
    db: Database, user_id: int, task_id: int, *, at: dt.datetime, lease: dt.timedelta
) -> None:
    """Claim exactly this task at `at` the way a scheduler node does."""
    async with db.scope(user_id) as s:
        await s.tasks.set_status(task_id, TaskStatus.PENDING, due_at=at - dt.timedelta(seconds=1))
    async with db.system() as ops:
        [claimed] = await ops.claim_due(node_id="node-a", now=at, lease=lease, limit=1)
    assert claimed.task_id == task_id


def decision(
    choices: list[dict[str, Any]] | None = None, summaries: list[dict[str, Any]] | None = None
) -> Any:
    return fake(
        tool_call("LifecycleDecision", {"choices": choices or [], "summaries": summaries or []})
    )


async def statuses(db: Database, user_id: int, campaign_id: int) -> list[TaskStatus]:
    async with db.scope(user_id) as s:
        return [t.status for t in await s.tasks.list_for_campaign(campaign_id)]


async def test_stop_rule_met_cancels_waiting_siblings_but_not_one_in_a_call(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(
        db,
        alice,
        [("callee", "Tuesday at 9:30 works")],
        stop_rule=StopRule.FIRST_SUCCESS,
        phones=("+12125550101", "+12125550102", "+12125550103"),
    )
    won, _waiting, talking = seeded.task_ids
    await claim(
        db, alice, talking, at=NOW - dt.timedelta(minutes=1), lease=dt.timedelta(minutes=30)
    )
    async with db.scope(alice) as s:
        await s.calls.set_results(seeded.call_id, analysis=StoredAnalysis.model_validate(WON))
        await s.tasks.set_status(won, TaskStatus.COMPLETED)
    # The model tries to cancel nothing instead: a required action cannot be talked away.
    runner = make_runner(
        models={
            "lifecycle": decision(
                [{"finding_id": f"stop_rule_met:{seeded.campaign_id}", "action": "none"}]
            )
        }
    )
    report = await runner.lifecycle_pass(alice)
    assert [a["kind"] for a in report["actions"]] == ["cancel_siblings"]
    assert "not allowed" in report["rejected"][0]
    assert await statuses(db, alice, seeded.campaign_id) == [
        TaskStatus.COMPLETED,
        TaskStatus.CANCELLED,
        TaskStatus.CLAIMED,
    ]
    async with db.scope(alice) as s:
        assert (await s.campaigns.require(seeded.campaign_id)).status is CampaignStatus.ACTIVE


async def test_when_the_last_task_ends_the_campaign_is_summarised_and_completed(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(
        db, alice, [("callee", "Tuesday at 9:30 works")], stop_rule=StopRule.FIRST_SUCCESS
    )
    async with db.scope(alice) as s:
        await s.calls.set_results(seeded.call_id, analysis=StoredAnalysis.model_validate(WON))
        await s.tasks.set_status(seeded.task_ids[0], TaskStatus.COMPLETED)
    summary = "Smile Dental booked Alice for Tuesday 9:30; the other dentist was not called."
    model = fake(
        tool_call("LifecycleDecision", {"choices": [], "summaries": []}),
        tool_call(
            "LifecycleDecision",
            {"choices": [], "summaries": [{"campaign_id": seeded.campaign_id, "summary": summary}]},
        ),
    )
    report = await make_runner(models={"lifecycle": model}).lifecycle_pass(alice)
    # Round 1 cancels the sibling; round 2 sees every task ended and completes the campaign.
    assert [a["kind"] for a in report["actions"]] == ["cancel_siblings", "complete_campaign"]
    assert report["completed_campaigns"] == [seeded.campaign_id]
    async with db.scope(alice) as s:
        campaign = await s.campaigns.require(seeded.campaign_id)
    assert campaign.status is CampaignStatus.COMPLETED and campaign.summary == summary


async def test_rehearsal_pass_writes_the_plain_summary(
    db: Database, runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(
        db, alice, [("callee", "Tuesday at 9:30 works")], phones=("+12125550101",)
    )
    async with db.scope(alice) as s:
        await s.calls.set_results(seeded.call_id, analysis=StoredAnalysis.model_validate(WON))
        await s.tasks.set_status(seeded.task_ids[0], TaskStatus.COMPLETED)
    report = await runner.lifecycle_pass(alice)
    assert report["completed_campaigns"] == [seeded.campaign_id]
    async with db.scope(alice) as s:
        summary = (await s.campaigns.require(seeded.campaign_id)).summary
    assert summary is not None and "1 of 1 target(s) achieved" in summary
    assert "appointment: Tue 9:30" in summary


async def test_a_stuck_task_is_rescheduled_and_the_past_is_refused(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, [], phones=("+12125550101",))
    [task_id] = seeded.task_ids
    await claim(db, alice, task_id, at=NOW - dt.timedelta(hours=2), lease=dt.timedelta(minutes=10))
    past = (NOW - dt.timedelta(days=1)).isoformat()
    runner = make_runner(
        models={
            "lifecycle": decision(
                [{"finding_id": f"stuck:{task_id}", "action": "reschedule", "due_at": past}]
            )
        }
    )
    report = await runner.lifecycle_pass(alice)
    assert "is in the past" in report["rejected"][0]
    [action] = report["actions"]
    assert (action["kind"], action["source"]) == ("reschedule", "rule")
    async with db.scope(alice) as s:
        task = await s.tasks.require(task_id)
    assert (
        task.status is TaskStatus.PENDING and task.due_at == NOW and task.lease_expires_at is None
    )


async def test_the_model_may_hold_a_stuck_task(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, [], phones=("+12125550101",))
    [task_id] = seeded.task_ids
    await claim(db, alice, task_id, at=NOW - dt.timedelta(hours=2), lease=dt.timedelta(minutes=10))
    runner = make_runner(
        models={
            "lifecycle": decision(
                [{"finding_id": f"stuck:{task_id}", "action": "hold", "reason": "ask Alice"}]
            )
        }
    )
    report = await runner.lifecycle_pass(alice)
    assert report["actions"][0]["source"] == "model" and report["rejected"] == []
    assert await statuses(db, alice, seeded.campaign_id) == [TaskStatus.ON_HOLD]


async def test_a_task_in_a_call_is_never_touched(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, [], phones=("+12125550101",))
    [task_id] = seeded.task_ids
    await claim(
        db, alice, task_id, at=NOW - dt.timedelta(minutes=1), lease=dt.timedelta(minutes=30)
    )
    # Even a model that asks to fail it gets no finding to act on.
    runner = make_runner(
        models={"lifecycle": decision([{"finding_id": f"stuck:{task_id}", "action": "fail"}])}
    )
    report = await runner.lifecycle_pass(alice)
    assert report["actions"] == [] and report.get("findings") == []
    assert await statuses(db, alice, seeded.campaign_id) == [TaskStatus.CLAIMED]


async def test_exhausted_tasks_fail_and_a_broken_model_keeps_the_defaults(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, [], phones=("+12125550101",))
    [task_id] = seeded.task_ids
    async with db.scope(alice) as s:
        await s.tasks.record_attempt(task_id, 3)  # as the dialler counts them, of 3 allowed
    report = await make_runner(models={"lifecycle": fake("no idea")}).lifecycle_pass(alice)
    assert [a["kind"] for a in report["actions"]] == ["fail"]
    assert await statuses(db, alice, seeded.campaign_id) == [TaskStatus.FAILED]


async def test_a_long_running_campaign_gets_one_check_in(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, [], phones=("+12125550101",))
    async with db.scope(alice) as s:
        created = (await s.campaigns.require(seeded.campaign_id)).created_at
    runner = make_runner(clock=FakeClock(created + dt.timedelta(days=3)))
    first = await runner.lifecycle_pass(alice)
    second = await runner.lifecycle_pass(alice)
    assert len(first["check_ins"]) == 1 and second["check_ins"] == []
    async with db.scope(alice) as s:
        [item] = await s.feedback.list_pending(FeedbackKind.CHECK_IN)
        campaign = await s.campaigns.require(seeded.campaign_id)
    assert item.campaign_id == seeded.campaign_id and "Keep going?" in item.question
    assert campaign.summary is not None and campaign.summary.startswith("In progress: 0 of 1")
    # Answering acts at once, through a lifecycle pass: keep going, and no new check-in.
    done = await runner.answer_feedback(alice, item.id, {"type": "accept"})
    assert done.graph == "lifecycle_manager" and done.values["check_ins"] == []
    assert done.values["answers"] == [{"feedback_id": item.id, "applied": "'Dentists' goes on."}]
    async with db.scope(alice) as s:
        answered = await s.feedback.require(item.id)
    assert answered.answer == {"type": "accept"}
    assert answered.payload["applied"] == "'Dentists' goes on."


async def test_a_pass_only_sees_its_own_users_campaigns(
    db: Database, runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    seeded = await seed_call(db, alice, [], phones=("+12125550101",))
    async with db.scope(alice) as s:
        await s.tasks.set_status(seeded.task_ids[0], TaskStatus.FAILED)
    assert (await runner.lifecycle_pass(bob))["actions"] == []
    async with db.scope(alice) as s:
        assert (await s.campaigns.require(seeded.campaign_id)).status is CampaignStatus.ACTIVE
    assert (await runner.lifecycle_pass(alice))["completed_campaigns"] == [seeded.campaign_id]
