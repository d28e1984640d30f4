"""The audit trail: the owner's decisions as they were applied, and reading them back.

Each decision is recorded in the transaction that applies it, so an event exists exactly when
the decision took effect. The sign-in attempts are audit log lines (`opendeep.audit`), not
events here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.db import Database, UserScope
from core.db.models import FeedbackRequest
from core.domain import AuditAction, AuditDetail, FeedbackAnswer, FeedbackKind, FeedbackPayload

ACTION_LABELS = {
    AuditAction.PLAN_APPROVED: "approved a plan",
    AuditAction.PLAN_EDITED: "sent a plan back with changes",
    AuditAction.PLAN_REJECTED: "rejected a plan",
    AuditAction.QUESTION_ANSWERED: "answered a live call's question",
    AuditAction.CALL_REVIEWED: "reviewed a call",
    AuditAction.CHECK_IN_ANSWERED: "answered a check-in",
    AuditAction.CAMPAIGN_PAUSED: "paused a campaign",
    AuditAction.CAMPAIGN_RESUMED: "resumed a campaign",
    AuditAction.CAMPAIGN_CANCELLED: "cancelled a campaign",
    AuditAction.DNC_ADDED: "put a number on the Do-Not-Call list",
    AuditAction.DNC_REMOVED: "took a number off the Do-Not-Call list",
    AuditAction.SETTINGS_CHANGED: "changed the settings",
    AuditAction.NOTE_SENT: "sent a note to a live call",
    AuditAction.TAKE_OVER_REQUESTED: "asked to be called in to a live call",
}

# An answer to a plan approval, in either form it is stored in (the Approvals tab's
# `{decision}` or an agent-inbox `{type}`), as the decision it is.
_PLAN_DECISIONS = {
    "approve": AuditAction.PLAN_APPROVED,
    "accept": AuditAction.PLAN_APPROVED,
    "edit": AuditAction.PLAN_EDITED,
    "reject": AuditAction.PLAN_REJECTED,
    "response": AuditAction.PLAN_REJECTED,
    "ignore": AuditAction.PLAN_REJECTED,
}
_ANSWER_ACTIONS = {
    FeedbackKind.LIVE_QUESTION: AuditAction.QUESTION_ANSWERED,
    FeedbackKind.ANALYSIS_REVIEW: AuditAction.CALL_REVIEWED,
    FeedbackKind.CHECK_IN: AuditAction.CHECK_IN_ANSWERED,
}


def _subject(item: FeedbackRequest) -> str:
    if item.call_id is not None:
        return f"call {item.call_id}"
    if item.task_id is not None:
        return f"task {item.task_id}"
    if item.campaign_id is not None:
        return f"campaign {item.campaign_id}"
    plan = FeedbackPayload.read(item.payload).plan
    return f"plan '{plan.name}'" if plan is not None and plan.name else f"item {item.id}"


def answer_event(
    item: FeedbackRequest, answer: Mapping[str, Any], *, late: bool = False
) -> tuple[AuditAction, str, AuditDetail]:
    """The event an answer to `item` makes: (action, subject, detail)."""
    read = FeedbackAnswer.read(dict(answer)) or FeedbackAnswer()
    decision = read.decision or read.type
    args = read.args if isinstance(read.args, Mapping) else {}
    text = read.words
    if item.kind is FeedbackKind.PLAN_APPROVAL:
        action = _PLAN_DECISIONS.get(decision or "", AuditAction.PLAN_REJECTED)
        extra = answer.get("changes") or answer.get("reason")
        text = text or (extra.strip() if isinstance(extra, str) and extra.strip() else None)
        if isinstance(read.args, Mapping):
            text = text or "edited the plan's fields"
    else:
        action = _ANSWER_ACTIONS[item.kind]
        if isinstance(args.get("decision"), str):  # a review's button: {decision, when}
            decision = args["decision"]
            when = args.get("when")
            text = when.strip() if isinstance(when, str) and when.strip() else None
    if item.kind is FeedbackKind.PLAN_APPROVAL or decision == "response":
        decision = None  # the action says it, or the owner's words do
    question = item.question if item.kind is not FeedbackKind.PLAN_APPROVAL else None
    detail = AuditDetail(decision=decision, text=text, question=question, late=late or None)
    return action, _subject(item), detail


async def record_answer(
    s: UserScope,
    item: FeedbackRequest,
    answer: Mapping[str, Any],
    *,
    at: dt.datetime | None = None,
    late: bool = False,
) -> None:
    """Record the owner's answer to `item` (call it where the answer is stored)."""
    action, subject, detail = answer_event(item, answer, late=late)
    await s.audit.record(action, subject, detail, at=at)


@dataclass(frozen=True, slots=True)
class AuditEntryView:
    at: dt.datetime
    actor: str
    action: AuditAction
    action_label: str
    subject: str
    detail: tuple[tuple[str, str], ...]  # (label, value), in the record's order


_DETAIL_LABELS = {
    "decision": "Decision",
    "text": "Said",
    "question": "Question",
    "late": "Late",
    "reason": "Reason",
    "source": "Source",
}


def _detail_lines(detail: AuditDetail) -> tuple[tuple[str, str], ...]:
    lines: list[tuple[str, str]] = []
    for key, value in detail.to_json().items():
        if key == "changes" and isinstance(value, dict):
            lines.extend((name, str(new)) for name, new in value.items())
        elif key == "late":
            lines.append(("Late", "after the call had ended"))
        else:
            lines.append((_DETAIL_LABELS.get(key, key), str(value).replace("_", " ")))
    return tuple(lines)


async def audit_trail(db: Database, user_id: int, *, limit: int = 200) -> Sequence[AuditEntryView]:
    """The user's own latest decisions, newest first."""
    async with db.scope(user_id) as s:
        events = await s.audit.list(limit)
        return [
            AuditEntryView(
                at=ev.at,
                actor=ev.actor,
                action=ev.action,
                action_label=ACTION_LABELS[ev.action],
                subject=ev.subject,
                detail=_detail_lines(AuditDetail.read(ev.detail)),
            )
            for ev in events
        ]
