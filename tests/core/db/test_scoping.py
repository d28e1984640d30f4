"""No public call reads or changes another user's rows — proven two ways.

1. Behaviour: every repository method, used by Bob on Alice's ids, finds nothing / changes nothing.
2. Mechanism: every SQL statement a `UserScope` emits against a user-owned table filters on
   `user_id` — checked on the SQL that actually reaches the database.
"""

from __future__ import annotations

import inspect
import re

import pytest
from sqlalchemy import event

from core.db import Database, NotFound, UserScope
from core.db.models import CallState, CampaignStatus, FeedbackKind, FeedbackStatus, TaskStatus
from core.db.scoped import AuditRepo, CallRepo, CampaignRepo, DndRepo, FeedbackRepo, TaskRepo
from core.domain import (
    AuditAction,
    AuditDetail,
    RecordedFact,
    TaskResult,
    TranscriptTurn,
    VoiceActivityRecord,
)
from tests.kit import T0, make_call, make_campaign, make_feedback, make_task

USER_TABLES = ("campaigns", "tasks", "calls", "dnd_list", "feedback_requests", "audit_events")


async def _seed(db: Database, user_id: int) -> dict[str, int]:
    """One row of each user-owned kind, for `user_id`."""
    c = await make_campaign(db, user_id, status=CampaignStatus.PENDING_APPROVAL)
    t = await make_task(db, user_id, campaign_id=c.id, phone="+12125550101")
    call = await make_call(
        db, user_id, task_id=t.id, call_uuid=f"00000000-0000-4000-8000-{user_id:012d}"
    )
    f = await make_feedback(
        db, user_id, kind=FeedbackKind.CHECK_IN, question="q?", campaign_id=c.id
    )
    async with db.scope(user_id) as s:
        await s.dnd.add("+12125550108")
        ev = await s.audit.record(AuditAction.DNC_ADDED, "+12125550108", AuditDetail(text="x"))
    return {"campaign": c.id, "task": t.id, "call": call.id, "feedback": f.id, "audit": ev.id}


async def test_other_users_rows_are_invisible_and_untouchable(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    a = await _seed(db, alice)
    async with db.scope(bob) as s:
        assert await s.campaigns.get(a["campaign"]) is None
        assert await s.tasks.get(a["task"]) is None
        assert await s.calls.get(a["call"]) is None
        assert await s.feedback.get(a["feedback"]) is None
        assert await s.calls.by_uuid(f"00000000-0000-4000-8000-{alice:012d}") is None
        assert await s.campaigns.list() == []
        assert await s.tasks.list_open() == []
        assert await s.tasks.list_for_campaign(a["campaign"]) == []
        assert await s.calls.list_live() == []
        assert await s.calls.list_for_task(a["task"]) == []
        assert await s.feedback.list_pending() == []
        assert await s.dnd.list() == []
        assert not await s.dnd.blocks("+12125550108")
        assert not await s.dnd.remove("+12125550108")
        assert not await s.calls.forget_undialled(a["call"])  # still Alice's (required below)
        assert await s.tasks.cancel_pending_siblings(a["campaign"], keep_task_id=None) == 0
        assert await s.tasks.in_progress_siblings(a["campaign"], task_id=0) == 0
        assert not await s.tasks.sibling_succeeded(a["campaign"], task_id=0)
        assert not await s.tasks.extend_lease(a["task"], node_id="n", until=T0)
        assert not await s.feedback.answer(a["feedback"], {"type": "accept"})
        assert not await s.feedback.close(a["feedback"], FeedbackStatus.CANCELLED)
        assert not await s.tasks.start_analysis(a["task"], node_id="n")
        assert await s.tasks.append_instructions("x", campaign_id=a["campaign"]) == 0
        assert await s.tasks.append_instructions("x", task_id=a["task"]) == 0
        assert await s.feedback.close_call_questions(a["call"], "gone") == []
        assert not await s.feedback.keep_late_answer(a["feedback"], {"text": "x"})
        assert await s.feedback.late_answers(a["task"]) == []
        assert await s.feedback.list_for_campaign(a["campaign"], FeedbackKind.CHECK_IN) == []
        assert await s.feedback.list_unapplied([FeedbackKind.CHECK_IN]) == []
        assert await s.feedback.undelivered_notes(a["call"]) == []
        assert await s.audit.get(a["audit"]) is None
        assert await s.audit.list() == []
        for call in (
            s.audit.require(a["audit"]),
            s.campaigns.require(a["campaign"]),
            s.campaigns.progress(a["campaign"]),
            s.campaigns.set_summary(a["campaign"], "x"),
            s.tasks.set_status(a["task"], TaskStatus.CANCELLED),
            s.tasks.record_attempt(a["task"], 5),
            s.tasks.add(campaign_id=a["campaign"], target_name="x", phone_e164="+12125550109"),
            s.calls.create(
                task_id=a["task"], attempt=2, call_uuid="x", dialed_number="+1", node_id="n"
            ),
            s.calls.append_turns(a["call"], [TranscriptTurn(role="callee", text="sneaky", at=T0)]),
            s.calls.set_progress(a["call"], state=CallState.ENDED),
            s.calls.set_results(a["call"], facts=[]),
            s.calls.append_fact(a["call"], RecordedFact(name="sneaky", value="")),
            s.calls.set_voice_activity(a["call"], VoiceActivityRecord(voiced_ms=1)),
            s.feedback.create(kind=FeedbackKind.CHECK_IN, question="?", campaign_id=a["campaign"]),
            s.feedback.add_note(a["call"], "hang up now"),
            s.tasks.set_phone(a["task"], "+12125550199", ["America/New_York"]),
            s.feedback.lock(a["feedback"]),
            s.feedback.mark_applied(a["feedback"], "x"),
            s.feedback.close(a["feedback"], FeedbackStatus.CLOSED, reason="gone"),
        ):
            with pytest.raises(NotFound):
                await call
    # And Alice's data is unchanged.
    async with db.scope(alice) as s:
        task = await s.tasks.require(a["task"])
        call = await s.calls.require(a["call"])
        feedback = await s.feedback.require(a["feedback"])
        assert task.status is TaskStatus.PENDING
        assert call.transcript == []
        assert feedback.status is FeedbackStatus.PENDING
        assert len(await s.tasks.list_for_campaign(a["campaign"])) == 1
        assert [ev.id for ev in await s.audit.list()] == [a["audit"]]


@pytest.mark.parametrize("bad", [0, -1, None, "1", True, 1.0])
def test_a_scope_needs_a_real_user_id(bad: object) -> None:
    with pytest.raises(ValueError, match="needs a user id"):
        UserScope(None, bad)  # type: ignore[arg-type]


def test_every_repository_method_is_exercised_by_the_sql_check() -> None:
    """When a repository gains a method, the SQL check below must call it too."""
    exercised = {
        CampaignRepo: {
            "get",
            "require",
            "create",
            "list",
            "set_status",
            "set_status_reason",
            "set_summary",
            "progress",
        },
        TaskRepo: {
            "get",
            "require",
            "add",
            "list_for_campaign",
            "list_open",
            "set_status",
            "record_attempt",
            "extend_lease",
            "cancel_pending_siblings",
            "in_progress_siblings",
            "sibling_succeeded",
            "count_claimed",
            "start_analysis",
            "set_phone",
            "append_instructions",
        },
        CallRepo: {
            "set_progress",
            "set_results",
            "get",
            "require",
            "create",
            "by_uuid",
            "list_for_task",
            "list_live",
            "last_outcomes",
            "forget_undialled",
            "append_turns",
            "append_fact",
            "set_voice_activity",
        },
        DndRepo: {"add", "remove", "list", "blocks", "blocking_list"},
        FeedbackRepo: {
            "get",
            "require",
            "create",
            "list_pending",
            "answer",
            "close",
            "close_call_questions",
            "keep_late_answer",
            "list_for_campaign",
            "late_answers",
            "list_unapplied",
            "lock",
            "mark_applied",
            "add_note",
            "undelivered_notes",
        },
        AuditRepo: {"get", "require", "record", "list"},
    }
    for cls, names in exercised.items():
        public = {
            n for n, _ in inspect.getmembers(cls, inspect.isfunction) if not n.startswith("_")
        }
        assert public == names, f"{cls.__name__}: add new methods to the SQL scoping check"


async def test_every_statement_on_user_tables_filters_by_user_id(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    statements: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        ids = await _seed(db, alice)
        async with db.scope(alice) as s:
            await s.campaigns.get(ids["campaign"])
            await s.campaigns.list()
            await s.campaigns.progress(ids["campaign"])
            await s.campaigns.set_status(
                ids["campaign"], s.campaigns.model.status.type.python_type("active")
            )
            await s.campaigns.set_summary(ids["campaign"], "s")
            await s.campaigns.set_status_reason(ids["campaign"], "why")
            await s.tasks.list_open()
            await s.tasks.list_for_campaign(ids["campaign"])
            await s.tasks.set_status(
                ids["task"], TaskStatus.ON_HOLD, last_outcome="busy", result=TaskResult()
            )
            await s.tasks.record_attempt(ids["task"], 1)
            await s.tasks.extend_lease(ids["task"], node_id="n", until=T0)
            await s.tasks.cancel_pending_siblings(ids["campaign"], keep_task_id=ids["task"])
            await s.tasks.in_progress_siblings(ids["campaign"], task_id=ids["task"])
            await s.tasks.sibling_succeeded(ids["campaign"], task_id=ids["task"])
            await s.tasks.count_claimed(except_task_ids=[ids["task"]])
            await s.calls.by_uuid("nope")
            await s.calls.list_for_task(ids["task"])
            await s.calls.list_live()
            await s.calls.last_outcomes(ids["campaign"], 3)
            await s.calls.append_turns(
                ids["call"], [TranscriptTurn(role="callee", text="hi", at=T0)]
            )
            await s.calls.set_progress(ids["call"], state=CallState.ANSWERED, hangup_cause=16)
            assert not await s.calls.forget_undialled(ids["call"])  # it was answered: kept
            await s.calls.set_results(ids["call"], facts=[RecordedFact(name="x", value="")])
            await s.calls.append_fact(ids["call"], RecordedFact(name="y", value=""))
            await s.calls.set_voice_activity(ids["call"], VoiceActivityRecord())
            await s.dnd.list()
            await s.dnd.blocks("+12125550108")
            await s.dnd.blocking_list("+12125550108")
            await s.dnd.remove("+12125550108")
            await s.tasks.start_analysis(ids["task"], node_id="n")
            await s.tasks.set_phone(ids["task"], "+12125550199", ["America/New_York"])
            await s.tasks.append_instructions(" more", campaign_id=ids["campaign"])
            await s.tasks.append_instructions(" more", task_id=ids["task"])
            await s.feedback.list_pending()
            await s.feedback.list_for_campaign(ids["campaign"], FeedbackKind.CHECK_IN)
            await s.feedback.close_call_questions(ids["call"], "the call ended")
            await s.feedback.late_answers(ids["task"])
            await s.feedback.list_unapplied([FeedbackKind.CHECK_IN])
            await s.feedback.add_note(ids["call"], "offer Wednesday")
            await s.feedback.undelivered_notes(ids["call"])
            await s.feedback.lock(ids["feedback"])
            await s.feedback.close(ids["feedback"], FeedbackStatus.CLOSED, reason="gone")
            await s.feedback.keep_late_answer(ids["feedback"], {"text": "late"})
            await s.feedback.answer(ids["feedback"], {"a": 1})
            await s.feedback.mark_applied(ids["feedback"], "applied")
            await s.feedback.close(ids["feedback"], FeedbackStatus.EXPIRED)
            await s.audit.record(AuditAction.SETTINGS_CHANGED, "settings")
            await s.audit.get(ids["audit"])
            await s.audit.list(5)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)

    checked = 0
    for sql in statements:
        flat = " ".join(sql.split()).lower()
        if not flat.startswith(("select", "update", "delete")):
            continue
        tables = [t for t in USER_TABLES if re.search(rf"\b(from|update|join)\s+{t}\b", flat)]
        if not tables:
            continue
        checked += 1
        assert re.search(r"\buser_id\b\s*(=|is|in)", flat), f"unscoped statement: {sql}"
    assert checked >= 20
