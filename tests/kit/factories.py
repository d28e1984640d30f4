"""Rows for tests, made through the product's own repositories (`UserScope`), so every row
belongs to the user it is made for. Each factory has defaults for everything; pass what the
test is about."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from core.db import Database
from core.db.models import (
    Call,
    CallOutcome,
    CallState,
    Campaign,
    CampaignStatus,
    FeedbackKind,
    FeedbackRequest,
    StopRule,
    Task,
    TaskStatus,
)
from core.domain import StoredAnalysis, TaskResult, TranscriptTurn
from tests.kit.clock import T0


async def make_user(
    db: Database,
    name: str = "alice",
    *,
    display_name: str | None = None,
    preferences: dict[str, object] | None = None,
) -> int:
    """A user named `name` (password `<name>-password-123`) with these `preferences` (as the
    Settings tab stores them); returns its id."""
    async with db.users() as users:
        user_id = await users.add(name, f"{name}-password-123", display_name=display_name)
        if preferences:
            await users.set_preferences(user_id, preferences)
        return user_id


async def make_campaign(
    db: Database,
    user_id: int,
    *,
    name: str = "Dentists",
    objective: str = "Book a cleaning next week",
    status: CampaignStatus = CampaignStatus.ACTIVE,
    plan: dict[str, Any] | None = None,
    stop_rule: StopRule = StopRule.CALL_EVERYONE,
    idempotency_key: str | None = None,
    **overrides: Any,
) -> Campaign:
    """An active campaign of `user_id` (other `CampaignRepo.create` arguments as overrides)."""
    async with db.scope(user_id) as s:
        return await s.campaigns.create(
            idempotency_key=idempotency_key or uuid.uuid4().hex,
            name=name,
            objective=objective,
            plan=plan,
            stop_rule=stop_rule,
            status=status,
            **overrides,
        )


async def make_task(
    db: Database,
    user_id: int,
    *,
    campaign_id: int | None = None,
    target_name: str = "Smile Dental",
    phone: str = "+12125550101",
    time_zones: Iterable[str] = ("America/New_York",),
    due_at: dt.datetime | None = None,
    status: TaskStatus | None = None,
    attempts: int = 0,
    last_outcome: str | None = None,
    result: TaskResult | dict[str, Any] | None = None,
    **overrides: Any,
) -> Task:
    """A task (of a fresh campaign unless `campaign_id` is given), due at `due_at` (the
    product's own default: now); `status`, `attempts`, `last_outcome` and `result` move it on
    after, as the dialler and the analyzer would."""
    if campaign_id is None:
        campaign_id = (await make_campaign(db, user_id)).id
    async with db.scope(user_id) as s:
        task = await s.tasks.add(
            campaign_id=campaign_id,
            target_name=target_name,
            phone_e164=phone,
            time_zones=time_zones,
            due_at=due_at,
            **overrides,
        )
        if attempts:
            task = await s.tasks.record_attempt(task.id, attempts)
        if status is not None or last_outcome is not None or result is not None:
            task = await s.tasks.set_status(
                task.id,
                status or task.status,
                last_outcome=last_outcome,
                result=TaskResult.model_validate(result) if isinstance(result, dict) else result,
            )
        return task


async def make_call(
    db: Database,
    user_id: int,
    *,
    task_id: int | None = None,
    attempt: int = 1,
    call_uuid: str | None = None,
    dialed_number: str | None = None,
    node_id: str = "test",
    transcript: Sequence[tuple[str, str]] = (),
    spoken_at: dt.datetime | None = None,
    analysis: StoredAnalysis | dict[str, Any] | None = None,
    state: CallState | None = None,
    outcome: CallOutcome | None = None,
    **progress: Any,
) -> Call:
    """A call of a task (a fresh one unless `task_id` is given) to the task's number.

    `state`, `outcome` and other `CallRepo.set_progress` arguments (`answered_at`,
    `ended_at`, …) record what happened; `transcript` is `(role, text)` turns, spoken at
    `spoken_at` (default: when it was answered, else `T0`); `analysis` is stored as the
    post-call analysis.
    """
    if task_id is None:
        task_id = (await make_task(db, user_id)).id
    async with db.scope(user_id) as s:
        task = await s.tasks.require(task_id)
        call = await s.calls.create(
            task_id=task_id,
            attempt=attempt,
            call_uuid=call_uuid or str(uuid.uuid4()),
            dialed_number=dialed_number or task.phone_e164,
            node_id=node_id,
        )
        call = await s.calls.set_progress(call.id, state=state, outcome=outcome, **progress)
        if transcript:
            at = spoken_at or progress.get("answered_at") or T0
            await s.calls.append_turns(
                call.id, [TranscriptTurn(role=role, text=text, at=at) for role, text in transcript]
            )
        if analysis is not None:
            stored = (
                StoredAnalysis.model_validate(analysis) if isinstance(analysis, dict) else analysis
            )
            await s.calls.set_results(call.id, analysis=stored)
        return await s.calls.require(call.id)


async def make_feedback(
    db: Database,
    user_id: int,
    *,
    kind: FeedbackKind = FeedbackKind.LIVE_QUESTION,
    question: str = "Do you take Aetna?",
    **overrides: Any,
) -> FeedbackRequest:
    """A pending feedback request (other `FeedbackRepo.create` arguments as overrides)."""
    async with db.scope(user_id) as s:
        return await s.feedback.create(kind=kind, question=question, **overrides)
