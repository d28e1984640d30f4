"""The graphs as a node part: the lifecycle round over every user."""

from __future__ import annotations

from structlog.testing import capture_logs

from core.db import Database
from core.db.models import CampaignStatus, TaskStatus
from core.domain import StoredAnalysis
from core.settings import Settings
from graphs.service_part import GraphsPart
from tests.graphs.conftest import clock, seed_call

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
    # Alice's campaign carries a plan no pass can read (a calling day that does not exist, as
    # an older or hand-edited row might): her pass fails on it.
    await seed_call(
        db,
        alice,
        [("callee", "hello")],
        plan={"constraints": {"days": ["someday"]}},
        phones=("+12125550101",),
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
