"""The data layer against SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from core.db import Database, NotFound
from core.db.models import (
    CallState,
    CampaignStatus,
    FeedbackKind,
    FeedbackStatus,
    StopRule,
    TaskStatus,
)
from core.domain import TranscriptTurn
from tests.kit import T0, make_campaign, make_user


async def _campaign(db: Database, user_id: int, key: str = "k1") -> int:
    """A campaign waiting for approval, made once per idempotency `key`."""
    campaign = await make_campaign(
        db,
        user_id,
        idempotency_key=key,
        objective="Book a cleaning",
        stop_rule=StopRule.FIRST_SUCCESS,
        status=CampaignStatus.PENDING_APPROVAL,
    )
    return campaign.id


async def test_campaign_creation_is_idempotent(db: Database, two_users: tuple[int, int]) -> None:
    alice, _ = two_users
    first = await _campaign(db, alice, "plan-1")
    again = await _campaign(db, alice, "plan-1")
    other = await _campaign(db, alice, "plan-2")
    assert first == again != other
    async with db.scope(alice) as s:
        assert [c.id for c in await s.campaigns.list()] == [other, first]


async def test_tasks_idempotent_per_number_and_progress(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    cid = await _campaign(db, alice)
    async with db.scope(alice) as s:
        t1 = await s.tasks.add(campaign_id=cid, target_name="A", phone_e164="+12125550101")
        t1b = await s.tasks.add(campaign_id=cid, target_name="A again", phone_e164="+12125550101")
        t2 = await s.tasks.add(campaign_id=cid, target_name="B", phone_e164="+12125550102")
        t3 = await s.tasks.add(campaign_id=cid, target_name="C", phone_e164="+12125550103")
        assert t1.id == t1b.id
        assert await s.campaigns.progress(cid) == (0, 3)
        await s.tasks.set_status(t2.id, TaskStatus.COMPLETED)
        assert await s.campaigns.progress(cid) == (1, 3)
        cancelled = await s.tasks.cancel_pending_siblings(cid, keep_task_id=t2.id)
        assert cancelled == 2
        statuses = {t.id: t.status for t in await s.tasks.list_for_campaign(cid)}
    assert statuses == {
        t1.id: TaskStatus.CANCELLED,
        t2.id: TaskStatus.COMPLETED,
        t3.id: TaskStatus.CANCELLED,
    }


async def test_times_are_aware_utc_on_every_backend(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    cid = await _campaign(db, alice)
    due = dt.datetime(2026, 12, 3, 15, 30, tzinfo=ZoneInfo("America/New_York"))
    async with db.scope(alice) as s:
        task = await s.tasks.add(
            campaign_id=cid, target_name="A", phone_e164="+12125550101", due_at=due
        )
        tid = task.id
    async with db.scope(alice) as s:
        back = await s.tasks.require(tid)
    assert back.due_at.tzinfo is not None and back.due_at.utcoffset() == dt.timedelta(0)
    assert back.due_at == due
    assert back.due_at.hour == 20  # 15:30 in New York is 20:30 UTC in December


async def test_naive_datetime_is_refused(db: Database, two_users: tuple[int, int]) -> None:
    alice, _ = two_users
    cid = await _campaign(db, alice)
    with pytest.raises(Exception, match="naive datetime"):
        async with db.scope(alice) as s:
            await s.tasks.add(
                campaign_id=cid,
                target_name="A",
                phone_e164="+12125550101",
                due_at=dt.datetime(2026, 1, 1, 9, 0),
            )


async def test_calls_and_transcript_turns(db: Database, two_users: tuple[int, int]) -> None:
    alice, _ = two_users
    cid = await _campaign(db, alice)
    async with db.scope(alice) as s:
        task = await s.tasks.add(campaign_id=cid, target_name="A", phone_e164="+12125550101")
        call = await s.calls.create(
            task_id=task.id,
            attempt=1,
            call_uuid="5d0c2b1e-0000-4000-8000-000000000001",
            dialed_number="+12125550101",
            node_id="n1",
        )
        call_id = call.id
    for role, text in [("agent", "Hi, this is an AI assistant."), ("callee", "Hello!")]:
        async with db.scope(alice) as s:  # each turn its own commit
            await s.calls.append_turns(call_id, [TranscriptTurn(role=role, text=text, at=T0)])
    async with db.scope(alice) as s:
        live = await s.calls.list_live()
        got = await s.calls.by_uuid("5d0c2b1e-0000-4000-8000-000000000001")
    assert [c.id for c in live] == [call_id]
    assert got is not None and got.state is CallState.ORIGINATING
    assert [t["role"] for t in got.transcript] == ["agent", "callee"]
    said_at = dt.datetime(2025, 3, 4, 9, 30, tzinfo=dt.UTC)
    async with db.scope(alice) as s:  # a batch: one statement, order kept
        await s.calls.append_turns(
            call_id,
            [
                TranscriptTurn(role="agent", text="Tuesday?", at=said_at),
                TranscriptTurn(role="callee", text="Yes.", at=said_at),
            ],
        )
        call = await s.calls.require(call_id)
    assert [t["text"] for t in call.transcript][2:] == ["Tuesday?", "Yes."]
    assert call.transcript[-1]["at"] == said_at.isoformat()
    async with db.system() as system:
        ref = await system.locate_call("5d0c2b1e-0000-4000-8000-000000000001")
    assert ref is not None and (ref.user_id, ref.call_id) == (alice, call_id)


async def test_dnd_user_list_and_global_list(db: Database, two_users: tuple[int, int]) -> None:
    alice, bob = two_users
    async with db.scope(alice) as s:
        await s.dnd.add("+12125550108", reason="asked on a call", source="call")
        await s.dnd.add("+12125550108")  # idempotent
        assert len(await s.dnd.list()) == 1
        assert await s.dnd.blocks("+12125550108")
        assert await s.dnd.blocking_list("+12125550108") == "user"
    async with db.scope(bob) as s:
        assert not await s.dnd.blocks("+12125550108")
        assert await s.dnd.list() == []
    from core.db.models import DndEntry

    async with db.system() as system:
        system._session.add(DndEntry(user_id=None, phone_e164="+12125550199", reason="regulator"))
    async with db.scope(bob) as s:
        assert await s.dnd.blocks("+12125550199")
        assert await s.dnd.blocking_list("+12125550199") == "global"
        assert await s.dnd.list() == []  # the global list is honoured, not listed as bob's
        assert not await s.dnd.remove("+12125550199")  # and bob cannot remove it
    async with db.scope(alice) as s:
        assert await s.dnd.remove("+12125550108")
        assert not await s.dnd.blocks("+12125550108")


async def test_feedback_answered_once(db: Database, two_users: tuple[int, int]) -> None:
    alice, _ = two_users
    cid = await _campaign(db, alice)
    async with db.scope(alice) as s:
        item = await s.feedback.create(
            kind=FeedbackKind.PLAN_APPROVAL,
            question="Approve the plan?",
            campaign_id=cid,
            thread_id=f"user:{alice}:campaign:{cid}",
        )
        fid = item.id
        assert [f.id for f in await s.feedback.list_pending()] == [fid]
    async with db.scope(alice) as s:
        assert await s.feedback.answer(fid, {"type": "accept"})
        assert not await s.feedback.answer(fid, {"type": "reject"})
    async with db.scope(alice) as s:
        item = await s.feedback.require(fid)
        assert item.status is FeedbackStatus.ANSWERED and item.answer == {"type": "accept"}
        assert await s.feedback.list_pending() == []


async def test_status_changes(db: Database, two_users: tuple[int, int]) -> None:
    alice, _ = two_users
    cid = await _campaign(db, alice)
    async with db.scope(alice) as s:
        c = await s.campaigns.set_status(cid, CampaignStatus.ACTIVE)
        assert c.status is CampaignStatus.ACTIVE
        await s.campaigns.set_summary(cid, "All booked.")
    async with db.scope(alice) as s:
        assert (await s.campaigns.require(cid)).summary == "All booked."
        with pytest.raises(NotFound):
            await s.campaigns.require(cid + 1000)


async def test_users_and_passwords(db: Database) -> None:
    from core.db import AlreadyExists, BadUserInput
    from core.db.models import User

    uid = await make_user(db, "carol")
    async with db.users() as users:
        assert await users.authenticate("carol", "carol-password-123") == uid
        assert await users.authenticate("CAROL ", "carol-password-123") == uid
        assert await users.authenticate("carol", "wrong-password") is None
        assert await users.authenticate("nobody", "carol-password-123") is None
        profile = await users.profile(uid)
    assert isinstance(profile, User)
    assert "carol-password-123" not in profile.password_hash
    assert profile.password_hash.startswith("$argon2id$")
    with pytest.raises(AlreadyExists):
        await make_user(db, "carol")
    for bad_name in ["", "a", "bad name", "x" * 70]:
        with pytest.raises(BadUserInput):
            async with db.users() as users:
                await users.add(bad_name, "long-enough-pw")
    with pytest.raises(BadUserInput, match="too short"):
        async with db.users() as users:
            await users.add("dave", "short")
