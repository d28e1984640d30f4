"""Every decision the owner takes is in their audit trail, once, with who and when; another
user never sees it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from core.db import Database
from core.db.models import FeedbackKind
from core.domain import AuditAction
from core.services import (
    CampaignAction,
    CheckInAction,
    CheckInDecision,
    PlanDecision,
    PlanReply,
    Reply,
    ReviewAction,
    ReviewDecision,
    ServiceError,
    add_number,
    answer_item,
    apply_action,
    audit_trail,
    import_dnc_csv,
    remove_number,
    save_preferences,
)
from core.services.audit import AuditEntryView, answer_event
from core.settings import Settings
from tests.core.services.seed import seed_campaign, seed_plan_approval, seed_question
from tests.kit import make_feedback

AT = dt.datetime(2026, 12, 1, 14, 30, tzinfo=dt.UTC)


async def _trail(db: Database, user_id: int) -> list[AuditEntryView]:
    return list(await audit_trail(db, user_id))


async def _item(db: Database, user_id: int, kind: FeedbackKind, campaign_id: int) -> int:
    return (
        await make_feedback(db, user_id, kind=kind, question="What now?", campaign_id=campaign_id)
    ).id


@pytest.mark.parametrize(
    ("reply", "action", "said"),
    [
        (PlanReply(PlanDecision.APPROVE), AuditAction.PLAN_APPROVED, None),
        (PlanReply(PlanDecision.EDIT, "Fridays only"), AuditAction.PLAN_EDITED, "Fridays only"),
        (PlanReply(PlanDecision.REJECT, "too pricey"), AuditAction.PLAN_REJECTED, "too pricey"),
    ],
)
async def test_a_plan_decision(
    db: Database,
    two_users: tuple[int, int],
    reply: PlanReply,
    action: AuditAction,
    said: str | None,
) -> None:
    alice, bob = two_users
    seeded = await seed_campaign(db, alice, "Dentists")
    item = await seed_plan_approval(db, alice, seeded)
    await answer_item(db, alice, item, reply, now=AT)
    [event] = await _trail(db, alice)
    assert (event.actor, event.action, event.at) == ("alice", action, AT)
    assert event.subject == f"campaign {seeded.campaign_id}"
    assert event.detail == ((("Said", said),) if said else ())
    assert await _trail(db, bob) == []


async def test_a_live_answer_and_a_late_one(db: Database, two_users: tuple[int, int]) -> None:
    alice, _ = two_users
    seeded = await seed_campaign(db, alice, "Dentists", live=True)
    on_time = await seed_question(db, alice, seeded, "Tuesday at nine?")
    late = await seed_question(db, alice, seeded, "Wednesday?", expires_in=5)
    await answer_item(db, alice, on_time, Reply("Tuesday works"), now=AT)
    async with db.scope(alice) as s:
        expires_at = (await s.feedback.require(late)).expires_at
    assert expires_at is not None
    await answer_item(db, alice, late, Reply("yes"), now=expires_at + dt.timedelta(seconds=10))
    with pytest.raises(ServiceError):
        await answer_item(db, alice, on_time, Reply("again"))
    late_event, event = await _trail(db, alice)
    assert event.action is AuditAction.QUESTION_ANSWERED and event.at == AT
    assert event.subject == f"call {seeded.call_ids[-1]}"
    assert dict(event.detail) == {"Said": "Tuesday works", "Question": "Tuesday at nine?"}
    assert dict(late_event.detail)["Late"] == "after the call had ended"


async def test_a_review_and_a_check_in(db: Database, two_users: tuple[int, int]) -> None:
    alice, _ = two_users
    seeded = await seed_campaign(db, alice, "Dentists")
    review = await _item(db, alice, FeedbackKind.ANALYSIS_REVIEW, seeded.campaign_id)
    check_in = await _item(db, alice, FeedbackKind.CHECK_IN, seeded.campaign_id)
    decision = ReviewDecision(ReviewAction.RETRY_AT, "tomorrow at 10")
    await answer_item(db, alice, review, decision, now=AT)
    later = AT + dt.timedelta(minutes=1)
    await answer_item(db, alice, check_in, CheckInDecision(CheckInAction.PAUSE), now=later)
    checked, reviewed = await _trail(db, alice)
    assert reviewed.action is AuditAction.CALL_REVIEWED
    assert dict(reviewed.detail) == {
        "Decision": "retry at",
        "Said": "tomorrow at 10",
        "Question": "What now?",
    }
    assert checked.action is AuditAction.CHECK_IN_ANSWERED
    assert dict(checked.detail)["Decision"] == "pause"


async def test_an_answer_handed_to_a_graph_is_recorded_there(
    db: Database, two_users: tuple[int, int]
) -> None:
    """The graph stores the answer (`graphs.hitl`) and records it; the service does not."""
    alice, _ = two_users
    seeded = await seed_campaign(db, alice, "Dentists")
    item = await seed_plan_approval(db, alice, seeded)

    class Resumer:
        async def answer_feedback(self, user_id: int, feedback_id: int, answer: Any) -> None:
            return None

    await answer_item(db, alice, item, PlanReply(PlanDecision.APPROVE), resumer=Resumer())
    assert await _trail(db, alice) == []


@pytest.mark.parametrize(
    ("kind", "answer", "action", "decision", "text"),
    [
        (FeedbackKind.PLAN_APPROVAL, {"type": "accept", "args": None}, "plan_approved", None, None),
        (FeedbackKind.PLAN_APPROVAL, {"type": "edit", "args": "Fri"}, "plan_edited", None, "Fri"),
        (
            FeedbackKind.PLAN_APPROVAL,
            {"type": "edit", "args": {"name": "x"}},
            "plan_edited",
            None,
            "edited the plan's fields",
        ),
        (
            FeedbackKind.PLAN_APPROVAL,
            {"type": "response", "args": "no"},
            "plan_rejected",
            None,
            "no",
        ),
        (FeedbackKind.PLAN_APPROVAL, {"type": "ignore", "args": None}, "plan_rejected", None, None),
        (
            FeedbackKind.ANALYSIS_REVIEW,
            {"type": "accept", "args": None},
            "call_reviewed",
            "accept",
            None,
        ),
        (
            FeedbackKind.ANALYSIS_REVIEW,
            {"type": "response", "args": "give up"},
            "call_reviewed",
            None,
            "give up",
        ),
        (FeedbackKind.CHECK_IN, {"decision": "stop"}, "check_in_answered", "stop", None),
        (FeedbackKind.LIVE_QUESTION, {"text": "yes"}, "question_answered", None, "yes"),
    ],
)
def test_every_stored_form_of_an_answer(
    kind: FeedbackKind, answer: dict[str, Any], action: str, decision: str | None, text: str | None
) -> None:
    from core.db.models import FeedbackRequest

    item = FeedbackRequest(id=4, kind=kind, question="Q?", payload={}, task_id=7)
    got, subject, detail = answer_event(item, answer)
    assert (got, subject, detail.decision, detail.text) == (action, "task 7", decision, text)


async def test_do_not_call_changes(db: Database, two_users: tuple[int, int]) -> None:
    alice, bob = two_users
    await add_number(db, alice, "(212) 555-0150", reason="asked", region="US")
    await add_number(db, alice, "2125550150", region="US")  # already listed: nothing decided
    await remove_number(db, alice, "+1 212 555 0150", region="US")
    await import_dnc_csv(db, alice, "2125550161,csv reason\n2125550162\n", region="US")
    events = await _trail(db, alice)
    assert [(e.action, e.subject) for e in events] == [
        (AuditAction.DNC_ADDED, "+12125550162"),
        (AuditAction.DNC_ADDED, "+12125550161"),
        (AuditAction.DNC_REMOVED, "+12125550150"),
        (AuditAction.DNC_ADDED, "+12125550150"),
    ]
    assert dict(events[-1].detail) == {"Reason": "asked", "Source": "manual"}
    assert dict(events[1].detail) == {"Reason": "csv reason", "Source": "csv"}
    assert all(e.actor == "alice" for e in events)
    assert await _trail(db, bob) == []


async def test_campaign_steering(db: Database, two_users: tuple[int, int]) -> None:
    alice, _ = two_users
    seeded = await seed_campaign(db, alice, "Dentists")
    for action in (CampaignAction.PAUSE, CampaignAction.RESUME, CampaignAction.CANCEL):
        await apply_action(db, alice, seeded.campaign_id, action)
    with pytest.raises(ServiceError):
        await apply_action(db, alice, seeded.campaign_id, CampaignAction.PAUSE)
    assert [(e.action, e.subject) for e in await _trail(db, alice)] == [
        (a, f"campaign {seeded.campaign_id}")
        for a in (
            AuditAction.CAMPAIGN_CANCELLED,
            AuditAction.CAMPAIGN_RESUMED,
            AuditAction.CAMPAIGN_PAUSED,
        )
    ]


async def test_settings_changes_name_what_changed(db: Database, two_users: tuple[int, int]) -> None:
    alice, bob = two_users
    node = Settings(_env_file=None, app_test_mode=False, max_concurrent_calls=4)  # type: ignore[call-arg]
    from core.services import Preferences

    data = Preferences.defaults(node).model_dump(mode="json")
    await save_preferences(db, node, alice, data)  # the defaults again: nothing changed
    assert await _trail(db, alice) == []
    data.update(max_concurrent_calls=2, time_zone="Europe/Paris")
    data["models"]["analyzer"] = "openai:gpt-4.1"
    await save_preferences(db, node, alice, data)
    [event] = await _trail(db, alice)
    assert (event.action, event.subject, event.actor) == (
        AuditAction.SETTINGS_CHANGED,
        "settings",
        "alice",
    )
    assert dict(event.detail) == {
        "Max concurrent calls": "2",
        "Your time zone": "Europe/Paris",
        "Analyzer model": "openai:gpt-4.1",
    }
    assert await _trail(db, bob) == []
