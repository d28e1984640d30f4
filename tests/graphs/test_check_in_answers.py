"""Answering a check-in moves the campaign at once, and the lifecycle manager's next pass sees
it — through the real graphs and database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from core.db import Database
from core.db.models import CampaignStatus, FeedbackKind, FeedbackStatus, TaskStatus
from core.services import CheckInAction, CheckInDecision, Reply, answer_item
from graphs import GraphRunner
from tests.graphs.conftest import RunnerFactory, Seeded, seed_call
from tests.kit import FakeClock
from ui.wiring import GraphResumer


async def checked_in(
    db: Database, make_runner: RunnerFactory, user_id: int
) -> tuple[GraphRunner, Seeded, int, FakeClock]:
    """A campaign of three targets running for days (one called, two waiting): a check-in."""
    seeded = await seed_call(
        db, user_id, [], phones=("+12125550101", "+12125550102", "+12125550103")
    )
    # The rows carry the database's own times; the pass reads them three days later.
    async with db.scope(user_id) as s:
        created = (await s.campaigns.require(seeded.campaign_id)).created_at
    clock = FakeClock(created + dt.timedelta(days=3))
    runner = make_runner(clock=clock)
    report = await runner.lifecycle_pass(user_id)
    [item] = report["check_ins"]
    return runner, seeded, item, clock


async def answered(runner: GraphRunner, db: Database, user_id: int, item: int, answer: Any) -> str:
    """Answer as the Approvals tab does (`answer_item` through the graphs' resumer)."""
    outcome = await answer_item(db, user_id, item, answer, resumer=GraphResumer(lambda: runner))
    assert outcome.handed_to_graph
    return outcome.message


@pytest.mark.parametrize("answer", [CheckInDecision(CheckInAction.STOP), Reply("No, stop.")])
async def test_stop_cancels_the_campaign_and_its_calls_not_made(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int], answer: Any
) -> None:
    alice, _ = two_users
    runner, seeded, item, _ = await checked_in(db, make_runner, alice)
    message = await answered(runner, db, alice, item, answer)
    assert message == "'Dentists' is stopped; 3 call(s) not yet made are cancelled."
    async with db.scope(alice) as s:
        campaign = await s.campaigns.require(seeded.campaign_id)
        tasks = await s.tasks.list_for_campaign(seeded.campaign_id)
        row = await s.feedback.require(item)
    assert campaign.status is CampaignStatus.CANCELLED
    assert campaign.summary and campaign.summary.startswith("Stopped by you at a check-in")
    assert "Campaign 'Dentists' ended: 0 of 3" in campaign.summary
    assert [t.status for t in tasks] == [TaskStatus.CANCELLED] * 3
    assert row.status is FeedbackStatus.ANSWERED and row.payload["applied"] == message


async def test_pause_pauses_and_is_not_nagged_until_resumed(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    runner, seeded, item, clock = await checked_in(db, make_runner, alice)
    message = await answered(runner, db, alice, item, CheckInDecision(CheckInAction.PAUSE))
    assert message == "'Dentists' is paused; press Resume in Campaigns to dial again."
    async with db.scope(alice) as s:
        campaign = await s.campaigns.require(seeded.campaign_id)
    assert campaign.status is CampaignStatus.PAUSED
    assert campaign.status_reason and "Paused by you at a check-in" in campaign.status_reason
    # Days later, still paused: no new check-in, nothing touched.
    clock.advance(days=5)
    report = await runner.lifecycle_pass(alice)
    assert report["check_ins"] == [] and report.get("actions", []) == []
    async with db.scope(alice) as s:
        assert await s.feedback.list_pending(FeedbackKind.CHECK_IN) == []
        assert [t.status for t in await s.tasks.list_for_campaign(seeded.campaign_id)] == [
            TaskStatus.PENDING
        ] * 3


async def test_keep_going_waits_a_full_period_before_asking_again(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    runner, seeded, item, clock = await checked_in(db, make_runner, alice)
    message = await answered(runner, db, alice, item, Reply("yes, keep going"))
    assert message == "'Dentists' goes on."
    clock.advance(hours=47)
    assert (await runner.lifecycle_pass(alice))["check_ins"] == []
    clock.advance(hours=2)
    assert len((await runner.lifecycle_pass(alice))["check_ins"]) == 1
    async with db.scope(alice) as s:
        assert (await s.campaigns.require(seeded.campaign_id)).status is CampaignStatus.ACTIVE


async def test_new_instructions_reach_the_next_calls(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    runner, seeded, item, _ = await checked_in(db, make_runner, alice)
    async with db.scope(alice) as s:
        await s.tasks.set_status(seeded.task_ids[2], TaskStatus.FAILED)  # ended: left alone
    message = await answered(runner, db, alice, item, Reply("Also ask whether they take Aetna."))
    assert message == "The next calls of 'Dentists' (2 target(s)) follow your new instructions."
    async with db.scope(alice) as s:
        tasks = await s.tasks.list_for_campaign(seeded.campaign_id)
        campaign = await s.campaigns.require(seeded.campaign_id)
    assert [t.instructions.endswith(": Also ask whether they take Aetna.") for t in tasks] == [
        True,
        True,
        False,
    ]
    assert campaign.status is CampaignStatus.ACTIVE


async def test_an_answered_check_in_is_acted_on_once_and_only_for_its_owner(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    runner, seeded, item, _ = await checked_in(db, make_runner, alice)
    # Recorded without a graph (a UI-only server): the next pass acts on it.
    await answer_item(db, alice, item, CheckInDecision(CheckInAction.STOP))
    assert (await runner.lifecycle_pass(bob))["answers"] == []
    async with db.scope(alice) as s:
        assert (await s.campaigns.require(seeded.campaign_id)).status is CampaignStatus.ACTIVE
    first = await runner.lifecycle_pass(alice)
    assert [a["feedback_id"] for a in first["answers"]] == [item]
    assert (await runner.lifecycle_pass(alice))["answers"] == []
    async with db.scope(alice) as s:
        assert (await s.campaigns.require(seeded.campaign_id)).status is CampaignStatus.CANCELLED
