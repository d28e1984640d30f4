"""The graphs as a node part: the lifecycle round over every user."""

from __future__ import annotations

import datetime as dt

from structlog.testing import capture_logs

from core.db import Database
from core.db.models import CallOutcome, CallState, CampaignStatus, TaskStatus
from core.domain import StoredAnalysis
from core.settings import Settings
from graphs.service_part import GraphsPart
from tests.graphs.conftest import NOW, clock, seed_call
from tests.kit import make_call, make_task

CALL_BACK = {
    "outcome": "callback_requested",
    "goal_achieved": False,
    "next_step": {"action": "call_back_at", "at": (NOW - dt.timedelta(minutes=1)).isoformat()},
    "confidence": 0.9,
    "final": True,
}
WON = {
    "outcome": "achieved",
    "goal_achieved": True,
    "summary": "Booked Tuesday 9:30.",
    "facts": [],
    "next_step": {"action": "done", "reason": "goal achieved"},
    "confidence": 0.9,
    "final": True,
}


async def test_one_users_failing_pass_does_not_stop_the_others(
    db: Database, settings: Settings, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    # Alice's callback is due on a task in a time zone this machine does not know (an older or
    # hand-edited row might say so): her pass fails on it.
    task = await make_task(
        db, alice, time_zones=("Nowhere/Atlantis",), due_at=NOW - dt.timedelta(minutes=1)
    )
    await make_call(
        db,
        alice,
        task_id=task.id,
        state=CallState.ENDED,
        outcome=CallOutcome.ANSWERED,
        analysis=CALL_BACK,
    )
    # Bob's only task is done: his pass closes his campaign.
    bobs = await seed_call(db, bob, [("callee", "Tuesday 9:30")], phones=("+12125550102",))
    async with db.scope(bob) as s:
        await s.calls.set_results(bobs.call_id, analysis=StoredAnalysis.model_validate(WON))
        await s.tasks.set_status(bobs.task_ids[0], TaskStatus.COMPLETED)

    part = GraphsPart(settings, db, clock=clock)
    await part.start()
    try:
        with capture_logs() as logs:
            failed = await part.lifecycle_pass_all()
    finally:
        await part.stop()

    assert failed == [alice]
    async with db.scope(bob) as s:
        assert (await s.campaigns.require(bobs.campaign_id)).status is CampaignStatus.COMPLETED
    (error,) = [e for e in logs if e["log_level"] == "error"]
    assert error["event"].startswith("lifecycle pass failed") and error["user_id"] == alice
    assert error["exc_info"] is True
