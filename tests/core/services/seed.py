"""A user's campaign in a few states, built from the test kit's factories (shared by the
service and UI tests).

Its times are the real clock's: UI tests show these rows in a served app, which counts "ended
10 s ago" and "left to answer" on its own real clock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from core.db import Database, utcnow  # noqa: TID251  (a served app shows these rows, see above)
from core.db.models import CallOutcome, CallState, CampaignStatus, FeedbackKind, TaskStatus
from graphs.threads import thread_id_for
from tests.kit import make_call, make_campaign, make_feedback, make_task


@dataclass(frozen=True, slots=True)
class Seeded:
    campaign_id: int
    task_ids: tuple[int, ...]
    call_ids: tuple[int, ...]


ANALYSIS: dict[str, Any] = {
    "outcome": "achieved",
    "goal_achieved": True,
    "summary": "Booked a cleaning for Tuesday at 9:30.",
    "next_step": {"action": "done", "reason": "goal achieved"},
    "confidence": 0.92,
    "final": True,
    "facts": [
        {
            "name": "appointment",
            "value": "Tuesday 9:30",
            "quote": "We can do Tuesday at nine thirty.",
        }
    ],
}


async def seed_campaign(
    db: Database,
    user_id: int,
    name: str,
    *,
    status: CampaignStatus = CampaignStatus.ACTIVE,
    recording_path: str | None = None,
    live: bool = False,
) -> Seeded:
    """A campaign of three tasks: one ended with an analysed call, one pending, one failed.

    With `live`, the pending task has a call in progress with a partial transcript.
    """
    now = utcnow()
    c = await make_campaign(
        db,
        user_id,
        name=name,
        objective="Book a dental cleaning next week, mornings only.",
        status=status,
        idempotency_key=f"seed-{uuid.uuid4()}",
    )
    done = await make_task(
        db,
        user_id,
        campaign_id=c.id,
        target_name="Bright Smile Dental",
        phone="+12125550111",
        time_zones=(),
        status=TaskStatus.COMPLETED,
        last_outcome="achieved",
        attempts=1,
    )
    waiting = await make_task(
        db,
        user_id,
        campaign_id=c.id,
        target_name="Park Slope Dentistry",
        phone="+12125550112",
        time_zones=(),
        status=TaskStatus.CLAIMED if live else None,
        attempts=1 if live else 0,
    )
    failed = await make_task(
        db,
        user_id,
        campaign_id=c.id,
        target_name="Downtown Dental",
        phone="+12125550113",
        time_zones=(),
        status=TaskStatus.FAILED,
        last_outcome="no_answer",
        attempts=1,
    )
    call = await make_call(
        db,
        user_id,
        task_id=done.id,
        state=CallState.ENDED,
        outcome=CallOutcome.ANSWERED,
        hangup_cause=16,
        hangup_cause_text="Normal Clearing",
        answered_at=now - dt.timedelta(seconds=95),
        ended_at=now - dt.timedelta(seconds=10),
        recording_path=recording_path,
        transcript=[
            ("agent", "Hi, this is an AI assistant calling on behalf of Alice."),
            ("callee", "Hello, Bright Smile Dental."),
            ("agent", "Could Alice book a cleaning next week, in the morning?"),
            ("callee", "We can do Tuesday at nine thirty."),
        ],
        spoken_at=now - dt.timedelta(seconds=60),
        analysis=ANALYSIS,
    )
    missed = await make_call(
        db,
        user_id,
        task_id=failed.id,
        state=CallState.ENDED,
        outcome=CallOutcome.NO_ANSWER,
        ended_at=now,
    )
    call_ids = [call.id, missed.id]
    if live:
        up = await make_call(
            db,
            user_id,
            task_id=waiting.id,
            state=CallState.ANSWERED,
            answered_at=now,
            transcript=[
                ("agent", "Hi, this is an AI assistant."),
                ("callee", "Park Slope Dentistry, please hold."),
            ],
        )
        call_ids.append(up.id)
    return Seeded(c.id, (done.id, waiting.id, failed.id), tuple(call_ids))


async def seed_question(
    db: Database,
    user_id: int,
    seeded: Seeded,
    question: str,
    *,
    expires_in: float = 120,
) -> int:
    item = await make_feedback(
        db,
        user_id,
        kind=FeedbackKind.LIVE_QUESTION,
        question=question,
        payload={"context": "The receptionist is holding."},
        campaign_id=seeded.campaign_id,
        task_id=seeded.task_ids[1],
        call_id=seeded.call_ids[-1],
        expires_at=utcnow() + dt.timedelta(seconds=expires_in),
    )
    return item.id


async def seed_plan_approval(db: Database, user_id: int, seeded: Seeded) -> int:
    async with db.system() as system:
        installation = await system.installation_id()
    item = await make_feedback(
        db,
        user_id,
        kind=FeedbackKind.PLAN_APPROVAL,
        question="Approve this plan?",
        payload={
            "plan": {
                "name": "Dentist cleaning",
                "objective": "Book a cleaning next week, mornings only.",
                "targets": [
                    {"name": "Bright Smile Dental", "phone_e164": "+12125550111"},
                    {"name": "Park Slope Dentistry", "phone_e164": "+12125550112"},
                ],
                "stop_rule": "first_success",
                "max_attempts": 2,
            }
        },
        campaign_id=seeded.campaign_id,
        thread_id=thread_id_for(installation, user_id, "plan", f"seeded-{seeded.campaign_id}"),
    )
    return item.id
