"""Seeding a user's campaign, tasks and calls through the repositories (shared by UI tests)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from core.db import Database, utcnow
from core.db.models import CallOutcome, CallState, CampaignStatus, FeedbackKind, TaskStatus
from core.domain import StoredAnalysis, TranscriptTurn, TurnRole
from graphs.threads import thread_id_for


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
    async with db.scope(user_id) as s:
        c = await s.campaigns.create(
            idempotency_key=f"seed-{uuid.uuid4()}",
            name=name,
            objective="Book a dental cleaning next week, mornings only.",
            status=status,
        )
        done = await s.tasks.add(
            campaign_id=c.id, target_name="Bright Smile Dental", phone_e164="+12125550111"
        )
        waiting = await s.tasks.add(
            campaign_id=c.id, target_name="Park Slope Dentistry", phone_e164="+12125550112"
        )
        failed = await s.tasks.add(
            campaign_id=c.id, target_name="Downtown Dental", phone_e164="+12125550113"
        )
        await s.tasks.set_status(done.id, TaskStatus.COMPLETED, last_outcome="achieved")
        await s.tasks.set_status(failed.id, TaskStatus.FAILED, last_outcome="no_answer")
        await s.tasks.record_attempt(done.id, 1)
        await s.tasks.record_attempt(failed.id, 1)
        call = await s.calls.create(
            task_id=done.id,
            attempt=1,
            call_uuid=str(uuid.uuid4()),
            dialed_number="+12125550111",
            node_id="test",
        )
        await s.calls.set_progress(
            call.id,
            state=CallState.ENDED,
            outcome=CallOutcome.ANSWERED,
            hangup_cause=16,
            hangup_cause_text="Normal Clearing",
            answered_at=now - dt.timedelta(seconds=95),
            ended_at=now - dt.timedelta(seconds=10),
            recording_path=recording_path,
        )
        for role, text in [
            (TurnRole.AGENT, "Hi, this is an AI assistant calling on behalf of Alice."),
            (TurnRole.CALLEE, "Hello, Bright Smile Dental."),
            (TurnRole.AGENT, "Could Alice book a cleaning next week, in the morning?"),
            (TurnRole.CALLEE, "We can do Tuesday at nine thirty."),
        ]:
            await s.calls.append_turns(call.id, [TranscriptTurn(role=role, text=text, at=utcnow())])
        await s.calls.set_results(call.id, analysis=StoredAnalysis.model_validate(ANALYSIS))
        missed = await s.calls.create(
            task_id=failed.id,
            attempt=1,
            call_uuid=str(uuid.uuid4()),
            dialed_number="+12125550113",
            node_id="test",
        )
        await s.calls.set_progress(
            missed.id, state=CallState.ENDED, outcome=CallOutcome.NO_ANSWER, ended_at=now
        )
        call_ids = [call.id, missed.id]
        if live:
            await s.tasks.set_status(waiting.id, TaskStatus.CLAIMED)
            await s.tasks.record_attempt(waiting.id, 1)
            up = await s.calls.create(
                task_id=waiting.id,
                attempt=1,
                call_uuid=str(uuid.uuid4()),
                dialed_number="+12125550112",
                node_id="test",
            )
            await s.calls.set_progress(up.id, state=CallState.ANSWERED, answered_at=now)
            await s.calls.append_turns(
                up.id,
                [
                    TranscriptTurn(role="agent", text="Hi, this is an AI assistant.", at=utcnow()),
                    TranscriptTurn(
                        role="callee", text="Park Slope Dentistry, please hold.", at=utcnow()
                    ),
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
    async with db.scope(user_id) as s:
        item = await s.feedback.create(
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
    async with db.scope(user_id) as s:
        item = await s.feedback.create(
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
