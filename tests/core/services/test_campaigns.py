"""Campaigns: the views the owner reads, and pause / resume / cancel."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.db import Database, NotFound
from core.db.models import CampaignStatus, FeedbackStatus, TaskStatus
from core.services import (
    CampaignAction,
    ServiceError,
    apply_action,
    campaign_detail,
    list_campaigns,
    next_status,
)
from tests.core.services.seed import seed_campaign, seed_plan_approval, seed_question
from tests.kit import make_task

S = CampaignStatus
A = CampaignAction


@pytest.mark.parametrize(
    ("action", "current", "expected"),
    [
        (A.PAUSE, S.ACTIVE, S.PAUSED),
        (A.RESUME, S.PAUSED, S.ACTIVE),
        (A.CANCEL, S.ACTIVE, S.CANCELLED),
        (A.CANCEL, S.PAUSED, S.CANCELLED),
        (A.CANCEL, S.PENDING_APPROVAL, S.CANCELLED),
        (A.PAUSE, S.PAUSED, None),
        (A.PAUSE, S.COMPLETED, None),
        (A.RESUME, S.ACTIVE, None),
        (A.RESUME, S.PENDING_APPROVAL, None),
        (A.CANCEL, S.COMPLETED, None),
        (A.CANCEL, S.CANCELLED, None),
        (A.CANCEL, S.REJECTED, None),
    ],
)
def test_status_transitions(
    action: CampaignAction, current: CampaignStatus, expected: CampaignStatus | None
) -> None:
    if expected is None:
        with pytest.raises(ServiceError, match="campaign 'X' is"):
            next_status(action, current, "X")
    else:
        assert next_status(action, current, "X") is expected


async def test_listing_shows_progress(db: Database, two_users: tuple[int, int]) -> None:
    alice, bob = two_users
    seeded = await seed_campaign(db, alice, "Dentists")
    (summary,) = await list_campaigns(db, alice)
    assert (summary.id, summary.name, summary.status_label) == (
        seeded.campaign_id,
        "Dentists",
        "active",
    )
    assert (summary.tasks_ended, summary.tasks_total) == (2, 3)
    assert summary.actions == (A.PAUSE, A.CANCEL)
    assert await list_campaigns(db, bob) == []


async def test_detail_has_tasks_calls_transcript_facts_and_outcomes(
    db: Database, two_users: tuple[int, int], tmp_path: Path
) -> None:
    alice, bob = two_users
    seeded = await seed_campaign(db, alice, "Dentists", live=True)
    detail = await campaign_detail(db, alice, seeded.campaign_id, tmp_path)
    assert [t.target_name for t in detail.tasks] == [
        "Bright Smile Dental",
        "Park Slope Dentistry",
        "Downtown Dental",
    ]
    call = detail.tasks[0].calls[0]
    assert call.result == "achieved"
    assert call.duration_s == 85
    assert call.hangup == "Normal Clearing"
    assert [t.speaker for t in call.transcript] == ["AI", "Callee", "AI", "Callee"]
    (fact,) = call.facts
    assert (fact.label, fact.value, fact.quote) == (
        "appointment",
        "Tuesday 9:30",
        "We can do Tuesday at nine thirty.",
    )
    assert call.analysis is not None and call.analysis.confidence == 0.92
    assert not call.has_recording
    assert dict(detail.outcomes) == {"achieved": 1, "no answer": 1, "in progress": 1}
    with pytest.raises(NotFound):
        await campaign_detail(db, bob, seeded.campaign_id, tmp_path)


async def test_pause_resume_cancel(db: Database, two_users: tuple[int, int]) -> None:
    alice, _ = two_users
    seeded = await seed_campaign(db, alice, "Dentists", live=True)
    plan_item = await seed_plan_approval(db, alice, seeded)
    question = await seed_question(db, alice, seeded, "Tuesday 9:30 or Wednesday 8:00?")
    paused = await apply_action(db, alice, seeded.campaign_id, A.PAUSE)
    assert paused.campaign.status is S.PAUSED and paused.campaign.actions == (A.RESUME, A.CANCEL)
    with pytest.raises(ServiceError, match="is paused: only a campaign that is active"):
        await apply_action(db, alice, seeded.campaign_id, A.PAUSE)
    assert (await apply_action(db, alice, seeded.campaign_id, A.RESUME)).campaign.status is S.ACTIVE
    await make_task(
        db, alice, campaign_id=seeded.campaign_id, target_name="New", phone="+12125550119"
    )
    cancelled = await apply_action(db, alice, seeded.campaign_id, A.CANCEL)
    assert cancelled.campaign.status is S.CANCELLED
    assert cancelled.tasks_cancelled == 1  # the one not started; the live call's task goes on
    async with db.scope(alice) as s:
        statuses = [t.status for t in await s.tasks.list_for_campaign(seeded.campaign_id)]
        plan = await s.feedback.require(plan_item)
        live = await s.feedback.require(question)
    assert statuses.count(TaskStatus.CANCELLED) == 1 and TaskStatus.CLAIMED in statuses
    assert plan.status is FeedbackStatus.CANCELLED
    assert live.status is FeedbackStatus.PENDING  # the call in progress may still ask


async def test_another_users_campaign_cannot_be_steered(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    seeded = await seed_campaign(db, alice, "Dentists")
    for action in CampaignAction:
        with pytest.raises(NotFound):
            await apply_action(db, bob, seeded.campaign_id, action)
    async with db.scope(alice) as s:
        assert (await s.campaigns.require(seeded.campaign_id)).status is S.ACTIVE
