"""The owner's inbox of human-in-the-loop items, and answering them.

A live call's question is answered by writing the answer (`{"text": …}`) on its row: the call
side polls that row (`media.call_store.CallStore.wait_answer`), so the answer reaches the call
on any node that shares the database within one poll interval. An answer that comes after the
call ended (the question closed or expired) is not lost: it is kept on the row and as a note in
the task's instructions, so the next call knows it and the analyzer reads it.
The other items (plan approvals, analysis reviews, check-ins) go to the `HitlResumer`, which
records the answer and has the graph that owns the item act on it; it says what was done.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from core.db import Database, UserScope, utcnow
from core.db.models import FeedbackRequest
from core.domain import OPEN_TASK_STATUSES, FeedbackKind, FeedbackPayload, FeedbackStatus
from core.services.audit import record_answer
from core.services.calls import Analysis, Fact, analysis_view, facts_of
from core.services.errors import ServiceError
from core.services.plans import PlanView, plan_view

MAX_ANSWER_LEN = 2000

KIND_LABELS = {
    FeedbackKind.PLAN_APPROVAL: "Plan approval",
    FeedbackKind.LIVE_QUESTION: "Live call question",
    FeedbackKind.ANALYSIS_REVIEW: "Analysis review",
    FeedbackKind.CHECK_IN: "Check-in",
    FeedbackKind.OWNER_NOTE: "Note to a live call",
    FeedbackKind.TAKE_OVER: "Call me in",
}
# Shown as the plan or analysis card, or internal to the graphs (their markdown `description`
# repeats what the cards show; `hitl` makes their writes idempotent).
_SHOWN_ELSEWHERE = {
    "plan",
    "analysis",
    "warnings",
    "review",
    "description",
    "hitl",
    "call_uuid",
    "target",
    "can_accept",
    "applied",
    "problem",
    "closed_reason",
    "asked_at",
}


class HitlResumer(Protocol):
    """Hands an answer to the graph that acts on the item; returns what was done, in words
    (None: nothing to tell)."""

    async def answer_feedback(
        self, user_id: int, feedback_id: int, answer: dict[str, Any]
    ) -> str | None: ...


class PlanDecision(StrEnum):
    APPROVE = "approve"
    EDIT = "edit"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Reply:
    """A free-text answer: to a live question, a check-in or an analysis review."""

    text: str


@dataclass(frozen=True, slots=True)
class PlanReply:
    """The owner's decision on a plan; `note` holds the changes (edit) or the reason (reject)."""

    decision: PlanDecision
    note: str = ""


class ReviewAction(StrEnum):
    ACCEPT = "accept"  # keep the analysis and its proposed next step
    RETRY_AT = "retry_at"
    CALL_BACK_AT = "call_back_at"
    DONE = "done"
    CANCEL = "cancel"  # stop calling this target


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    """A button of an analysis review; `when` ("tomorrow at 10", empty: as soon as the calling
    window allows) for retry / call back, read in the callee's zone."""

    action: ReviewAction
    when: str = ""


class CheckInAction(StrEnum):
    KEEP_GOING = "keep_going"
    PAUSE = "pause"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class CheckInDecision:
    """A button of a check-in (free text, a `Reply`, can also change the instructions)."""

    action: CheckInAction


Answer = Reply | PlanReply | ReviewDecision | CheckInDecision


@dataclass(frozen=True, slots=True)
class InboxItem:
    id: int
    kind: FeedbackKind
    kind_label: str
    question: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    campaign_name: str
    target_name: str
    call_id: int | None
    plan: PlanView | None
    analysis: Analysis | None
    facts: tuple[Fact, ...]
    details: tuple[tuple[str, str], ...]
    can_accept: bool = False  # a review whose analysis proposes a next step that can stand
    callee_zone: str | None = None  # where the callee's times are read (reviews)

    @property
    def urgent(self) -> bool:
        return self.kind is FeedbackKind.LIVE_QUESTION


@dataclass(frozen=True, slots=True)
class AnswerOutcome:
    id: int
    kind: FeedbackKind
    handed_to_graph: bool
    message: str = ""  # what the answer did, for the owner


def _details(payload: FeedbackPayload) -> tuple[tuple[str, str], ...]:
    shown = payload.model_dump(mode="json", exclude=_SHOWN_ELSEWHERE, exclude_none=True)
    return tuple(
        (key.replace("_", " ").capitalize(), str(value))
        for key, value in shown.items()
        if not isinstance(value, dict | list) and str(value).strip()
    )


def is_expired(item: FeedbackRequest, now: dt.datetime) -> bool:
    return item.expires_at is not None and item.expires_at <= now


async def inbox(db: Database, user_id: int, *, now: dt.datetime | None = None) -> list[InboxItem]:
    """The user's open items: live-call questions first (soonest to expire), then the rest."""
    now = now or utcnow()
    items: list[InboxItem] = []
    async with db.scope(user_id) as s:
        names: dict[int, str] = {}
        targets: dict[int, str] = {}
        zones: dict[int, str] = {}
        for row in await s.feedback.list_pending():
            if is_expired(row, now):
                continue
            if row.campaign_id is not None and row.campaign_id not in names:
                campaign = await s.campaigns.get(row.campaign_id)
                names[row.campaign_id] = campaign.name if campaign else ""
            if row.task_id is not None and row.task_id not in targets:
                task = await s.tasks.get(row.task_id)
                targets[row.task_id] = task.target_name if task else ""
                if task is not None and task.time_zones:
                    zones[row.task_id] = str(task.time_zones[0])
            payload = FeedbackPayload.read(row.payload)
            analysis = payload.analysis
            items.append(
                InboxItem(
                    id=row.id,
                    kind=row.kind,
                    kind_label=KIND_LABELS[row.kind],
                    question=row.question,
                    created_at=row.created_at,
                    expires_at=row.expires_at,
                    campaign_name=names.get(row.campaign_id or 0, ""),
                    target_name=targets.get(row.task_id or 0, ""),
                    call_id=row.call_id,
                    plan=(
                        plan_view(
                            payload.plan, warnings=[*payload.warnings, *payload.review_issues]
                        )
                        if row.kind is FeedbackKind.PLAN_APPROVAL
                        else None
                    ),
                    analysis=analysis_view(analysis),
                    facts=facts_of(analysis),
                    details=_details(payload),
                    can_accept=payload.can_accept,
                    callee_zone=zones.get(row.task_id or 0),
                )
            )
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    items.sort(key=lambda i: (not i.urgent, i.expires_at or far, i.created_at, i.id))
    return items


def answer_payload(kind: FeedbackKind, answer: Answer) -> dict[str, Any]:
    """The stored form of an answer; `ServiceError` when it does not fit the item's kind."""
    if kind is FeedbackKind.PLAN_APPROVAL:
        if not isinstance(answer, PlanReply):
            raise ServiceError("a plan is approved, edited or rejected — not answered with text")
        note = answer.note.strip()
        if len(note) > MAX_ANSWER_LEN:
            raise ServiceError(
                f"the note is {len(note)} characters; keep it under {MAX_ANSWER_LEN}"
            )
        if answer.decision is PlanDecision.APPROVE:
            return {"decision": "approve"}
        if answer.decision is PlanDecision.EDIT:
            if not note:
                raise ServiceError("say what to change in the plan before sending it back")
            return {"decision": "edit", "changes": note}
        return {"decision": "reject", "reason": note}
    if isinstance(answer, ReviewDecision) and kind is FeedbackKind.ANALYSIS_REVIEW:
        if answer.action is ReviewAction.ACCEPT:
            return {"type": "accept", "args": None}
        when = answer.when.strip()
        if len(when) > MAX_ANSWER_LEN:
            raise ServiceError(f"the time is {len(when)} characters; keep it short")
        return {"type": "edit", "args": {"decision": answer.action.value, "when": when}}
    if isinstance(answer, CheckInDecision) and kind is FeedbackKind.CHECK_IN:
        return {"decision": answer.action.value}
    if isinstance(answer, PlanReply):
        raise ServiceError(f"a {KIND_LABELS[kind].lower()} is answered with text, not a decision")
    if not isinstance(answer, Reply):
        raise ServiceError(f"a {KIND_LABELS[kind].lower()} is not answered with this button")
    text = answer.text.strip()
    if not text:
        raise ServiceError("write an answer first")
    if len(text) > MAX_ANSWER_LEN:
        raise ServiceError(f"the answer is {len(text)} characters; keep it under {MAX_ANSWER_LEN}")
    return {"text": text}


async def answer_item(
    db: Database,
    user_id: int,
    feedback_id: int,
    answer: Answer,
    *,
    resumer: HitlResumer | None = None,
    now: dt.datetime | None = None,
) -> AnswerOutcome:
    """Answer one of the user's items.

    Raises `NotFound` for an item that is not the user's, and `ServiceError` when it is no
    longer open or the answer does not fit it. A live question whose call has ended (the item
    closed or expired) keeps the answer as a note for the task's next call instead.
    """
    now = now or utcnow()
    async with db.scope(user_id) as s:
        item = await s.feedback.require(feedback_id)
        payload = answer_payload(item.kind, answer)
        if item.kind is FeedbackKind.LIVE_QUESTION and (
            item.status in (FeedbackStatus.EXPIRED, FeedbackStatus.CLOSED)
            or (item.status is FeedbackStatus.PENDING and is_expired(item, now))
        ):
            message = await _keep_late_answer(s, item, payload)
            await record_answer(s, item, payload, at=now, late=True)
            return AnswerOutcome(feedback_id, item.kind, False, message)
        if item.status is not FeedbackStatus.PENDING:
            raise ServiceError(f"this {KIND_LABELS[item.kind].lower()} was already {item.status}")
        expired = is_expired(item, now)
        # Live questions are answered on their row (the call polls it); the rest go to a graph.
        graph = None if item.kind is FeedbackKind.LIVE_QUESTION else resumer
        if expired:
            await s.feedback.close(feedback_id, FeedbackStatus.EXPIRED)
        elif graph is None:
            if not await s.feedback.answer(feedback_id, payload):
                raise ServiceError("this item was answered or closed a moment ago")
            await record_answer(s, item, payload, at=now)
    if expired:
        assert item.expires_at is not None
        raise ServiceError(f"too late: it expired at {item.expires_at:%H:%M:%S} UTC")
    message = ""
    if graph is not None:
        message = await graph.answer_feedback(user_id, feedback_id, payload) or ""
    return AnswerOutcome(feedback_id, item.kind, graph is not None, message)


async def _keep_late_answer(s: UserScope, item: FeedbackRequest, payload: dict[str, Any]) -> str:
    """Keep an answer the call did not live to hear: on the item (the analyzer reads it) and
    appended to the task's instructions (the next call's agent reads them)."""
    if item.status is FeedbackStatus.PENDING:
        await s.feedback.close(item.id, FeedbackStatus.EXPIRED)
    if not await s.feedback.keep_late_answer(item.id, payload):
        raise ServiceError("this question has an answer already")
    task = await s.tasks.get(item.task_id) if item.task_id is not None else None
    heard = "The call had ended before your answer, so it did not hear it. "
    if task is None or task.status not in OPEN_TASK_STATUSES:
        who = f" to {task.target_name}" if task else ""
        return heard + f"It is kept with the call's record; no further call{who} is planned."
    note = (
        f"\n\nOn an earlier call you asked the owner \u201c{item.question}\u201d; they answered "
        f"after that call ended: \u201c{payload['text']}\u201d"
    )
    await s.tasks.append_instructions(note, task_id=task.id)
    return heard + (
        f"It is kept as a note: the next call to {task.target_name} will know it, and the "
        "analysis of the calls reads it."
    )
