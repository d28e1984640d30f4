"""The audit trail's repository: who and when, newest first, only the user's own."""

from __future__ import annotations

import datetime as dt

from core.db import Database
from core.domain import AuditAction, AuditDetail

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


async def test_events_name_the_user_and_come_back_newest_first(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    async with db.scope(alice) as s:
        await s.audit.record(AuditAction.PLAN_APPROVED, "plan 'Dentists'", at=T0)
        await s.audit.record(
            AuditAction.DNC_ADDED,
            "+12125550150",
            AuditDetail(reason="asked", source="manual"),
            at=T0 + dt.timedelta(hours=2),
        )
        await s.audit.record(
            AuditAction.DNC_ADDED, "+12125550151", at=T0 + dt.timedelta(hours=1), actor="robot"
        )
    async with db.scope(bob) as s:
        await s.audit.record(AuditAction.SETTINGS_CHANGED, "settings")
        [bobs] = await s.audit.list()
        assert bobs.actor == "bob"
    async with db.scope(alice) as s:
        events = await s.audit.list()
        assert [e.subject for e in events] == ["+12125550150", "+12125550151", "plan 'Dentists'"]
        newest = events[0]
        assert (newest.actor, newest.action, newest.at) == (
            "alice",
            AuditAction.DNC_ADDED,
            T0 + dt.timedelta(hours=2),
        )
        assert newest.at.tzinfo is not None
        assert newest.detail == {"reason": "asked", "source": "manual"}
        assert events[1].actor == "robot"
        assert events[2].detail == {}
        assert [e.subject for e in await s.audit.list(limit=1)] == ["+12125550150"]
