"""Answering an analysis review moves the task at once — and the campaign closes with its last
task — through the real graphs and database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.db import Database, NotFound
from core.db.models import CampaignStatus, FeedbackKind, FeedbackStatus, TaskStatus
from core.services.tasks import ask_owner_about_call
from graphs import GraphRunner
from tests.graphs.conftest import NOW, RunnerFactory, Seeded, fake, seed_call
from tests.graphs.test_post_call_analyzer import TALK, analysis

NY = ZoneInfo("America/New_York")


def ny(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=NY)


async def reviewed(
    db: Database, make_runner: RunnerFactory, user_id: int, **model: Any
) -> tuple[GraphRunner, Seeded, int]:
    """A one-target campaign whose call the analyzer doubts: its task waits on a review."""
    seeded = await seed_call(db, user_id, TALK, phones=("+12125550101",))
    reply = analysis(model.pop("outcome", "refused"), **{"confidence": 0.3, **model})
    runner = make_runner(models={"analyzer": fake(reply)})
    result = await runner.analyze_call(user_id, seeded.call_id)
    assert result.status == "awaiting_review" and result.feedback_id is not None
    async with db.scope(user_id) as s:
        assert (await s.tasks.require(seeded.task_ids[0])).status is TaskStatus.ON_HOLD
    return runner, seeded, result.feedback_id


async def task_and_campaign(db: Database, user_id: int, seeded: Seeded) -> tuple[Any, Any]:
    async with db.scope(user_id) as s:
        return (
            await s.tasks.require(seeded.task_ids[0]),
            await s.campaigns.require(seeded.campaign_id),
        )


@pytest.mark.parametrize(
    ("answer", "status", "due"),
    [
        ({"text": "call back Thursday after 3"}, TaskStatus.PENDING, ny(26, 15)),
        ({"text": "Call them again tomorrow at 10 in the morning"}, TaskStatus.PENDING, ny(25, 10)),
        ({"type": "response", "args": "try again in 2 hours"}, TaskStatus.PENDING, ny(24, 12)),
        # The buttons of the review card.
        (
            {"type": "edit", "args": {"decision": "retry_at", "when": "tomorrow at 9"}},
            TaskStatus.PENDING,
            ny(25, 9),
        ),
        ({"type": "edit", "args": {"decision": "retry_at", "when": ""}}, TaskStatus.PENDING, NOW),
    ],
)
async def test_a_time_given_in_the_review_reschedules_the_task(
    db: Database,
    make_runner: RunnerFactory,
    two_users: tuple[int, int],
    answer: dict[str, Any],
    status: TaskStatus,
    due: dt.datetime,
) -> None:
    alice, _ = two_users
    runner, seeded, item = await reviewed(db, make_runner, alice)
    done = await runner.answer_feedback(alice, item, answer)
    assert done.waiting_on is None and done.values["status"] == "done"
    assert "will be called at" in done.values["applied"]
    task, campaign = await task_and_campaign(db, alice, seeded)
    assert task.status is status and task.due_at == due
    assert campaign.status is CampaignStatus.ACTIVE  # the task is still open
    async with db.scope(alice) as s:
        stored = (await s.calls.require(seeded.call_id)).analysis
    assert stored["final"] and stored["reviewed_by_owner"]
    assert dt.datetime.fromisoformat(stored["next_step"]["at"]) == due


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ({"text": "give up"}, TaskStatus.CANCELLED),
        ({"text": "done"}, TaskStatus.COMPLETED),
        ({"type": "accept"}, TaskStatus.COMPLETED),  # the analysis proposed done
        ({"type": "edit", "args": {"decision": "cancel"}}, TaskStatus.CANCELLED),
        ({"type": "edit", "args": {"decision": "done"}}, TaskStatus.COMPLETED),
        ({"type": "ignore"}, TaskStatus.COMPLETED),
    ],
)
async def test_an_answer_that_ends_the_last_task_completes_the_campaign(
    db: Database,
    make_runner: RunnerFactory,
    two_users: tuple[int, int],
    answer: dict[str, Any],
    status: TaskStatus,
) -> None:
    alice, _ = two_users
    runner, seeded, item = await reviewed(db, make_runner, alice)
    await runner.answer_feedback(alice, item, answer)
    task, campaign = await task_and_campaign(db, alice, seeded)
    assert task.status is status
    assert campaign.status is CampaignStatus.COMPLETED and campaign.summary


async def test_a_new_number_from_the_owner_is_dialled_next(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    runner, seeded, item = await reviewed(db, make_runner, alice, outcome="wrong_number")
    done = await runner.answer_feedback(
        alice, item, {"text": "The number is wrong, use +1 212 555 0199"}
    )
    assert "+12125550199" in done.values["applied"]
    task, _ = await task_and_campaign(db, alice, seeded)
    assert task.status is TaskStatus.PENDING and task.due_at == NOW
    assert task.phone_e164 == "+12125550199" and list(task.time_zones) == ["America/New_York"]


async def test_words_that_cannot_be_read_ask_again_and_change_nothing(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    # The analyzer leaves the decision to the owner: nothing may become "done" by default.
    runner, seeded, item = await reviewed(
        db, make_runner, alice, outcome="partial", proposed_next_step="ask_owner"
    )
    again = await runner.answer_feedback(alice, item, {"text": "Hmm, they sounded busy."})
    assert again.waiting_on is not None and again.waiting_on != item
    assert again.values["note"].startswith("Not applied: I could not read")
    task, _ = await task_and_campaign(db, alice, seeded)
    assert task.status is TaskStatus.ON_HOLD
    async with db.scope(alice) as s:
        first = await s.feedback.require(item)
        second = await s.feedback.require(again.waiting_on)
    assert first.status is FeedbackStatus.ANSWERED and second.status is FeedbackStatus.PENDING
    assert second.payload["note"].startswith("Not applied: I could not read")
    assert second.payload["can_accept"] is False
    # "Yes" cannot accept a decision nobody made; a time can be read.
    again = await runner.answer_feedback(alice, again.waiting_on, {"text": "yes"})
    assert again.waiting_on is not None
    done = await runner.answer_feedback(
        alice, again.waiting_on, {"text": "call them again tomorrow at 10 in the morning"}
    )
    assert done.waiting_on is None
    task, _ = await task_and_campaign(db, alice, seeded)
    assert task.status is TaskStatus.PENDING and task.due_at == ny(25, 10)


async def test_a_failed_analysis_is_answered_like_any_review(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, TALK, phones=("+12125550101",))
    runner = make_runner(models={"analyzer": fake("I am not JSON at all")})
    result = await runner.analyze_call(alice, seeded.call_id)
    assert result.feedback_id is not None
    done = await runner.answer_feedback(alice, result.feedback_id, {"text": "give up"})
    assert done.values["applied"] == "Target 1 will not be called again."
    _, campaign = await task_and_campaign(db, alice, seeded)
    assert campaign.status is CampaignStatus.COMPLETED


async def test_a_review_no_analyzer_waits_on_is_acted_on_by_the_lifecycle_pass(
    db: Database, runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    """The review the attempt runner asks when the analyzer itself crashed."""
    alice, bob = two_users
    seeded = await seed_call(db, alice, TALK, phones=("+12125550101",))
    async with db.scope(alice) as s:
        item = await ask_owner_about_call(
            s, seeded.task_ids[0], seeded.call_id, "the automatic analysis failed (KeyError)"
        )
        again = await ask_owner_about_call(s, seeded.task_ids[0], seeded.call_id, "twice")
        assert again == item  # one review per call
        assert (await s.tasks.require(seeded.task_ids[0])).status is TaskStatus.ON_HOLD
    # Words it cannot read: asked again, the task stays on hold.
    unread = await runner.answer_feedback(alice, item, {"text": "no idea"})
    [first] = unread.values["answers"]
    assert first["applied"].startswith("Not applied: I could not read")
    async with db.scope(alice) as s:
        [pending] = await s.feedback.list_pending(FeedbackKind.ANALYSIS_REVIEW)
        assert pending.id != item and pending.thread_id is None
        assert (await s.tasks.require(seeded.task_ids[0])).status is TaskStatus.ON_HOLD
    # Bob cannot answer it.
    with pytest.raises(NotFound):
        await runner.answer_feedback(bob, pending.id, {"text": "give up"})
    # A button: retried tomorrow at 9 in the callee's zone.
    done = await runner.answer_feedback(
        alice,
        pending.id,
        {"type": "edit", "args": {"decision": "retry_at", "when": "tomorrow 9am"}},
    )
    assert done.graph == "lifecycle_manager"
    task, _ = await task_and_campaign(db, alice, seeded)
    assert task.status is TaskStatus.PENDING and task.due_at == ny(25, 9)
    # Acted on once: a later pass leaves it alone.
    assert (await runner.lifecycle_pass(alice))["answers"] == []
