"""Campaigns as the owner sees and steers them: progress, tasks, calls, pause/resume/cancel."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from core.db import Database, UserScope
from core.db.models import Campaign
from core.domain import AuditAction, CampaignStatus, FeedbackKind, FeedbackStatus
from core.services.calls import CallView, call_view
from core.services.errors import ServiceError


class CampaignAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


# action -> (statuses it may be taken from, status it leads to)
TRANSITIONS: dict[CampaignAction, tuple[frozenset[CampaignStatus], CampaignStatus]] = {
    CampaignAction.PAUSE: (frozenset({CampaignStatus.ACTIVE}), CampaignStatus.PAUSED),
    CampaignAction.RESUME: (frozenset({CampaignStatus.PAUSED}), CampaignStatus.ACTIVE),
    CampaignAction.CANCEL: (
        frozenset({CampaignStatus.PENDING_APPROVAL, CampaignStatus.ACTIVE, CampaignStatus.PAUSED}),
        CampaignStatus.CANCELLED,
    ),
}

AUDIT_ACTIONS = {
    CampaignAction.PAUSE: AuditAction.CAMPAIGN_PAUSED,
    CampaignAction.RESUME: AuditAction.CAMPAIGN_RESUMED,
    CampaignAction.CANCEL: AuditAction.CAMPAIGN_CANCELLED,
}

STATUS_LABELS = {
    CampaignStatus.PENDING_APPROVAL: "waiting for approval",
    CampaignStatus.ACTIVE: "active",
    CampaignStatus.PAUSED: "paused",
    CampaignStatus.COMPLETED: "completed",
    CampaignStatus.CANCELLED: "cancelled",
    CampaignStatus.REJECTED: "rejected",
}


def next_status(action: CampaignAction, current: CampaignStatus, name: str) -> CampaignStatus:
    """The status `action` leads to from `current`; `ServiceError` when it is not allowed."""
    allowed, target = TRANSITIONS[action]
    if current not in allowed:
        may = " or ".join(sorted(STATUS_LABELS[s] for s in allowed))
        raise ServiceError(
            f"campaign {name!r} is {STATUS_LABELS[current]}: only a campaign that is {may} "
            f"can be {'cancelled' if action is CampaignAction.CANCEL else action.value + 'd'}"
        )
    return target


def allowed_actions(status: CampaignStatus) -> tuple[CampaignAction, ...]:
    return tuple(a for a, (allowed, _) in TRANSITIONS.items() if status in allowed)


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    id: int
    name: str
    objective: str
    status: CampaignStatus
    status_label: str
    tasks_ended: int
    tasks_total: int
    created_at: dt.datetime
    summary: str
    actions: tuple[CampaignAction, ...]
    status_reason: str = ""  # why it does not dial right now (a banner), or empty


@dataclass(frozen=True, slots=True)
class TaskView:
    id: int
    target_name: str
    phone_e164: str
    status: str
    attempts: int
    max_attempts: int
    due_at: dt.datetime
    last_outcome: str
    calls: tuple[CallView, ...]


@dataclass(frozen=True, slots=True)
class CampaignDetail:
    campaign: CampaignSummary
    tasks: tuple[TaskView, ...]
    outcomes: tuple[tuple[str, int], ...]  # (call result, how many), most frequent first


def _summary(progress: tuple[int, int], c: Campaign) -> CampaignSummary:
    ended, total = progress
    return CampaignSummary(
        id=c.id,
        name=c.name,
        objective=c.objective,
        status=c.status,
        status_label=STATUS_LABELS[c.status],
        tasks_ended=ended,
        tasks_total=total,
        created_at=c.created_at,
        summary=c.summary or "",
        actions=allowed_actions(c.status),
        status_reason=c.status_reason or "",
    )


async def list_campaigns(db: Database, user_id: int) -> Sequence[CampaignSummary]:
    """The user's campaigns, newest first, with their progress."""
    async with db.scope(user_id) as s:
        return [_summary(await s.campaigns.progress(c.id), c) for c in await s.campaigns.list()]


async def campaign_detail(
    db: Database, user_id: int, campaign_id: int, recordings_dir: Path
) -> CampaignDetail:
    """One of the user's campaigns with its tasks and their calls; `NotFound` otherwise."""
    async with db.scope(user_id) as s:
        campaign = await s.campaigns.require(campaign_id)
        summary = _summary(await s.campaigns.progress(campaign_id), campaign)
        tasks = []
        results: Counter[str] = Counter()
        for task in await s.tasks.list_for_campaign(campaign_id):
            calls = tuple(
                call_view(c, recordings_dir) for c in await s.calls.list_for_task(task.id)
            )
            results.update(c.result for c in calls)
            tasks.append(
                TaskView(
                    id=task.id,
                    target_name=task.target_name,
                    phone_e164=task.phone_e164,
                    status=task.status.value.replace("_", " "),
                    attempts=task.attempts,
                    max_attempts=task.max_attempts,
                    due_at=task.due_at,
                    last_outcome=(task.last_outcome or "").replace("_", " "),
                    calls=calls,
                )
            )
    return CampaignDetail(summary, tuple(tasks), tuple(results.most_common()))


@dataclass(frozen=True, slots=True)
class ActionResult:
    campaign: CampaignSummary
    tasks_cancelled: int


async def apply_action(
    db: Database, user_id: int, campaign_id: int, action: CampaignAction
) -> ActionResult:
    """Pause, resume or cancel one of the user's campaigns.

    Pausing stops new dials (calls already up finish); cancelling also cancels the tasks that
    have not started and the campaign's open approvals and check-ins.
    """
    async with db.scope(user_id) as s:
        campaign, cancelled = await steer(s, campaign_id, action)
        await s.audit.record(AUDIT_ACTIONS[action], f"campaign {campaign_id}")
        summary = _summary(await s.campaigns.progress(campaign_id), campaign)
    return ActionResult(summary, cancelled)


async def steer(
    s: UserScope, campaign_id: int, action: CampaignAction, *, reason: str | None = None
) -> tuple[Campaign, int]:
    """`apply_action` inside an open scope (the lifecycle manager's check-ins use it too);
    `reason` is the banner a paused campaign shows. Returns the campaign and how many tasks
    were cancelled."""
    campaign = await s.campaigns.require(campaign_id)
    target = next_status(action, campaign.status, campaign.name)
    campaign = await s.campaigns.set_status(campaign_id, target, reason=reason)
    cancelled = 0
    if action is CampaignAction.CANCEL:
        cancelled = await s.tasks.cancel_pending_siblings(campaign_id, keep_task_id=None)
        for item in await s.feedback.list_pending():
            if item.campaign_id == campaign_id and item.kind is not FeedbackKind.LIVE_QUESTION:
                await s.feedback.close(item.id, FeedbackStatus.CANCELLED)
    return campaign, cancelled
