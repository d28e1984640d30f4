"""Moving one task on: after its call was analysed, and after the owner answered a review.

The attempt runner and the post-call analyzer's review both end in `apply_next_step`, so a
next step means the same thing whoever decided it. `ask_owner_about_call` is the review asked
when the analyzer itself could not run: its answer is read by the lifecycle manager's pass.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from core.db import Database, UserScope
from core.db.models import Task
from core.domain import (
    DIALLING_ACTIONS,
    AttemptResult,
    FeedbackKind,
    NextAction,
    StopRule,
    TaskResult,
    TaskStatus,
)
from core.logging import get_logger
from core.phone import time_zones

log = get_logger("opendeep.tasks")

ENDED = (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED)
# Where a next step may come from: the call's own analysis, or an owner's review.
MOVABLE = (TaskStatus.CLAIMED, TaskStatus.ANALYZING, TaskStatus.ON_HOLD)


async def apply_next_step(
    db: Database,
    user_id: int,
    task_id: int,
    *,
    outcome: str,
    action: NextAction,
    at: dt.datetime | None,
    reason: str,
    goal_achieved: bool,
    now: dt.datetime,
    phone: str | None = None,
) -> Task:
    """Move a task on after its call was analysed (or its review answered); the task after.

    done → completed; retry_at / call_back_at → pending at that time (never in the past), with
    `phone` as its new number when given; ask_owner → on hold; cancel → cancelled (the owner
    stops calling this target); cancel_siblings → completed, and the campaign's tasks that
    have not started are cancelled. A goal achieved in a "first success ends the campaign"
    campaign cancels the siblings whatever was proposed. A task that has moved on meanwhile
    (ended, or pending again) is left as it is.
    """
    async with db.scope(user_id) as s:
        return await move_task(
            s,
            task_id,
            outcome=outcome,
            action=action,
            at=at,
            reason=reason,
            goal_achieved=goal_achieved,
            now=now,
            phone=phone,
        )


async def move_task(
    s: UserScope,
    task_id: int,
    *,
    outcome: str,
    action: NextAction,
    at: dt.datetime | None,
    reason: str,
    goal_achieved: bool,
    now: dt.datetime,
    phone: str | None = None,
) -> Task:
    """`apply_next_step` inside an open scope (with other writes in the same transaction)."""
    task = await s.tasks.require(task_id)
    if task.status not in MOVABLE:
        log.warning(
            "next step not applied: the task moved on",
            task_id=task_id,
            status=task.status.value,
            action=action,
        )
        return task
    campaign = await s.campaigns.require(task.campaign_id)
    result = TaskResult(outcome=outcome, reason=reason, goal_achieved=goal_achieved)
    first_success = goal_achieved and campaign.stop_rule is StopRule.FIRST_SUCCESS
    if action in DIALLING_ACTIONS and not first_success:
        if phone is not None and phone != task.phone_e164:
            await s.tasks.set_phone(task_id, phone, time_zones(phone))
        due = max(at or now, now)
        return await s.tasks.set_status(
            task_id, TaskStatus.PENDING, due_at=due, last_outcome=outcome, result=result
        )
    if action == NextAction.ASK_OWNER and not first_success:
        return await s.tasks.set_status(
            task_id, TaskStatus.ON_HOLD, last_outcome=outcome, result=result
        )
    if action == NextAction.CANCEL and not first_success:
        return await s.tasks.set_status(
            task_id, TaskStatus.CANCELLED, last_outcome=outcome, result=result
        )
    # The task is over (its outcome says how); the lifecycle manager closes the campaign.
    done = await s.tasks.set_status(
        task_id, TaskStatus.COMPLETED, last_outcome=outcome, result=result
    )
    if action == NextAction.CANCEL_SIBLINGS or first_success:
        cancelled = await s.tasks.cancel_pending_siblings(campaign.id, keep_task_id=task_id)
        log.info("stop rule met: siblings cancelled", campaign_id=campaign.id, cancelled=cancelled)
    return done


async def ask_owner_about_call(
    s: UserScope, task_id: int, call_id: int | None, problem: str
) -> int:
    """Put the task on hold with a review the owner answers in words or with a button (no
    graph waits on it: the lifecycle manager's pass acts on the answer). Idempotent per call;
    returns the review's id."""
    task = await s.tasks.require(task_id)
    for item in await s.feedback.list_pending(FeedbackKind.ANALYSIS_REVIEW):
        if item.thread_id is None and item.task_id == task_id and item.call_id == call_id:
            return item.id
    item = await s.feedback.create(
        kind=FeedbackKind.ANALYSIS_REVIEW,
        question=f"Review the call to {task.target_name}: {problem}. Read the transcript and "
        "say what happens next.",
        payload={"problem": problem},
        campaign_id=task.campaign_id,
        task_id=task_id,
        call_id=call_id,
    )
    await s.tasks.set_status(
        task_id, TaskStatus.ON_HOLD, last_outcome=AttemptResult.AWAITING_REVIEW
    )
    return item.id


def describe_task(task: Task, zone: str) -> str:
    """Where the task stands, for the owner (times in the callee's `zone`)."""
    if task.status is TaskStatus.PENDING:
        at = task.due_at.astimezone(ZoneInfo(zone))
        return f"{task.target_name} will be called at {at:%a %d %b %H:%M %Z} ({task.phone_e164})."
    label = {
        TaskStatus.COMPLETED: "is done",
        TaskStatus.CANCELLED: "will not be called again",
        TaskStatus.FAILED: "has failed",
        TaskStatus.ON_HOLD: "waits for you",
    }.get(task.status, f"is {task.status.value.replace('_', ' ')}")
    return f"{task.target_name} {label}."
