"""The HITL inbox: ordering, answering by kind, expiry, tenancy, and the call side's wait."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from core.db import Database, NotFound
from core.db.models import FeedbackKind, FeedbackStatus
from core.services import (
    PlanDecision,
    PlanReply,
    Reply,
    ServiceError,
    answer_item,
    inbox,
)
from tests.core.services.seed import seed_campaign, seed_plan_approval, seed_question


class RecordingResumer:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int, dict[str, Any]]] = []

    async def answer_feedback(self, user_id: int, feedback_id: int, answer: dict[str, Any]) -> None:
        self.calls.append((user_id, feedback_id, answer))


async def test_live_questions_come_first_and_expired_ones_are_gone(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    seeded = await seed_campaign(db, alice, "Dentists", live=True)
    plan = await seed_plan_approval(db, alice, seeded)
    later = await seed_question(db, alice, seeded, "Later?", expires_in=90)
    sooner = await seed_question(db, alice, seeded, "Sooner?", expires_in=30)
    await seed_question(db, alice, seeded, "Gone?", expires_in=-1)
    items = await inbox(db, alice)
    assert [i.id for i in items] == [sooner, later, plan]
    assert items[0].urgent and items[0].target_name == "Park Slope Dentistry"
    assert items[0].details == (("Context", "The receptionist is holding."),)
    assert items[2].plan is not None and items[2].plan.stop_rule == "stop when one call succeeds"
    assert [t.name for t in items[2].plan.targets] == [
        "Bright Smile Dental",
        "Park Slope Dentistry",
    ]
    assert await inbox(db, bob) == []


async def test_a_live_question_is_answered_on_its_row(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_campaign(db, alice, "Dentists", live=True)
    question = await seed_question(db, alice, seeded, "Tuesday?")
    resumer = RecordingResumer()
    with pytest.raises(ServiceError, match="write an answer first"):
        await answer_item(db, alice, question, Reply("  "), resumer=resumer)
    with pytest.raises(ServiceError, match="answered with text"):
        await answer_item(db, alice, question, PlanReply(PlanDecision.APPROVE))
    outcome = await answer_item(db, alice, question, Reply(" Tuesday works "), resumer=resumer)
    assert not outcome.handed_to_graph and resumer.calls == []
    async with db.scope(alice) as s:
        row = await s.feedback.require(question)
    assert row.status is FeedbackStatus.ANSWERED and row.answer == {"text": "Tuesday works"}
    with pytest.raises(ServiceError, match="already answered"):
        await answer_item(db, alice, question, Reply("again"))


async def test_an_answer_after_the_question_expired_is_kept_for_the_next_call(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_campaign(db, alice, "Dentists", live=True)
    question = await seed_question(db, alice, seeded, "Tuesday?", expires_in=5)
    async with db.scope(alice) as s:
        expires_at = (await s.feedback.require(question)).expires_at
    assert expires_at is not None
    outcome = await answer_item(
        db, alice, question, Reply("yes"), now=expires_at + dt.timedelta(seconds=5)
    )
    assert not outcome.handed_to_graph
    assert outcome.message.startswith("The call had ended before your answer")
    assert "the next call to Park Slope Dentistry will know it" in outcome.message
    async with db.scope(alice) as s:
        row = await s.feedback.require(question)
        task = await s.tasks.require(seeded.task_ids[1])
    assert row.status is FeedbackStatus.EXPIRED and row.answer == {"text": "yes"}
    assert task.instructions.endswith(
        "\u201cTuesday?\u201d; they answered after that call ended: \u201cyes\u201d"
    )
    with pytest.raises(ServiceError, match="has an answer already"):
        await answer_item(db, alice, question, Reply("no"))


@pytest.mark.parametrize(
    ("reply", "stored"),
    [
        (PlanReply(PlanDecision.APPROVE, "ignored"), {"decision": "approve"}),
        (
            PlanReply(PlanDecision.EDIT, "only mornings"),
            {"decision": "edit", "changes": "only mornings"},
        ),
        (PlanReply(PlanDecision.REJECT), {"decision": "reject", "reason": ""}),
    ],
)
async def test_plan_decisions_go_to_the_graph_when_one_is_wired(
    db: Database, two_users: tuple[int, int], reply: PlanReply, stored: dict[str, Any]
) -> None:
    alice, _ = two_users
    seeded = await seed_campaign(db, alice, "Dentists")
    item = await seed_plan_approval(db, alice, seeded)
    resumer = RecordingResumer()
    outcome = await answer_item(db, alice, item, reply, resumer=resumer)
    assert outcome.handed_to_graph and outcome.kind is FeedbackKind.PLAN_APPROVAL
    assert resumer.calls == [(alice, item, stored)]


async def test_without_a_graph_the_decision_is_stored(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_campaign(db, alice, "Dentists")
    item = await seed_plan_approval(db, alice, seeded)
    with pytest.raises(ServiceError, match="say what to change"):
        await answer_item(db, alice, item, PlanReply(PlanDecision.EDIT, " "))
    with pytest.raises(ServiceError, match="not answered with text"):
        await answer_item(db, alice, item, Reply("ok"))
    outcome = await answer_item(db, alice, item, PlanReply(PlanDecision.REJECT, "too many"))
    assert not outcome.handed_to_graph
    async with db.scope(alice) as s:
        assert (await s.feedback.require(item)).answer == {
            "decision": "reject",
            "reason": "too many",
        }


async def test_another_users_item_is_not_found(db: Database, two_users: tuple[int, int]) -> None:
    alice, bob = two_users
    seeded = await seed_campaign(db, alice, "Dentists", live=True)
    question = await seed_question(db, alice, seeded, "Tuesday?")
    resumer = RecordingResumer()
    with pytest.raises(NotFound):
        await answer_item(db, bob, question, Reply("mine now"), resumer=resumer)
    async with db.scope(alice) as s:
        assert (await s.feedback.require(question)).status is FeedbackStatus.PENDING
    assert resumer.calls == []
