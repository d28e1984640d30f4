"""Repositories over one user's data.

Each is built with a `user_id` and adds `WHERE user_id = :id` to every statement it runs, so
there is no public way to read or change another user's rows: `UserScope` is the only door.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import JSON, Select, bindparam, case, cast, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from core.db.errors import NotFound
from core.db.models import AuditEvent, Call, Campaign, DndEntry, FeedbackRequest, Task, User
from core.db.types import utcnow
from core.domain import (
    OPEN_TASK_STATUSES,
    AuditAction,
    AuditDetail,
    CallOutcome,
    CallState,
    CampaignStatus,
    FeedbackKind,
    FeedbackPayload,
    FeedbackStatus,
    RecordedFact,
    StopRule,
    StoredAnalysis,
    TaskResult,
    TaskStatus,
    TranscriptTurn,
    VoiceActivityRecord,
    dump_items,
)

M = TypeVar("M", Campaign, Task, Call, FeedbackRequest, AuditEvent)

# Appends per SQLite `json_insert` call: each takes two arguments, and a function takes 127 at
# most in SQLite's default build; a longer list nests calls.
_SQLITE_APPENDS = 60


class _Scoped(Generic[M]):
    model: type[M]
    label: str

    def __init__(self, session: AsyncSession, user_id: int) -> None:
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
            raise ValueError(f"a user-scoped repository needs a user id, got {user_id!r}")
        self._session = session
        self.user_id = user_id

    def _select(self) -> Select[M]:
        return select(self.model).where(self.model.user_id == self.user_id)

    async def get(self, ident: int) -> M | None:
        """The object with this id if it belongs to this user, else None."""
        result = await self._session.execute(self._select().where(self.model.id == ident))
        return result.scalar_one_or_none()

    async def require(self, ident: int) -> M:
        """Like `get`, raising `NotFound` instead of returning None."""
        obj = await self.get(ident)
        if obj is None:
            raise NotFound(self.label, ident)
        return obj

    async def _update(self, ident: int, **values: Any) -> M:
        """A scoped UPDATE of one row (never an unscoped ORM flush); returns the fresh row."""
        if "updated_at" in self.model.__table__.c:
            values.setdefault("updated_at", utcnow())
        result = await self._session.execute(
            update(self.model)
            .where(self.model.user_id == self.user_id, self.model.id == ident)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFound(self.label, ident)
        stmt = (
            self._select().where(self.model.id == ident).execution_options(populate_existing=True)
        )
        return (await self._session.execute(stmt)).scalar_one()


class CampaignRepo(_Scoped[Campaign]):
    model = Campaign
    label = "campaign"

    async def create(
        self,
        *,
        idempotency_key: str,
        name: str,
        objective: str,
        plan: dict[str, Any] | None = None,
        stop_rule: StopRule = StopRule.CALL_EVERYONE,
        status: CampaignStatus = CampaignStatus.PENDING_APPROVAL,
        window_start: dt.time | None = None,
        window_end: dt.time | None = None,
        max_attempts: int = 3,
        recording: bool = True,
        voicemail_message: str | None = None,
        caller_id: str | None = None,
        thread_id: str | None = None,
    ) -> Campaign:
        """Create a campaign, or return the one already made with this idempotency key."""
        existing = await self._session.execute(
            self._select().where(Campaign.idempotency_key == idempotency_key)
        )
        found = existing.scalar_one_or_none()
        if found is not None:
            return found
        campaign = Campaign(
            user_id=self.user_id,
            idempotency_key=idempotency_key,
            name=name,
            objective=objective,
            plan=plan or {},
            stop_rule=stop_rule,
            status=status,
            window_start=window_start,
            window_end=window_end,
            max_attempts=max_attempts,
            recording=recording,
            voicemail_message=voicemail_message,
            caller_id=caller_id or None,
            thread_id=thread_id,
        )
        self._session.add(campaign)
        await self._session.flush()
        return campaign

    async def list(self, status: CampaignStatus | None = None) -> Sequence[Campaign]:
        stmt = self._select().order_by(Campaign.created_at.desc(), Campaign.id.desc())
        if status is not None:
            stmt = stmt.where(Campaign.status == status)
        return (await self._session.execute(stmt)).scalars().all()

    async def set_status(
        self, ident: int, status: CampaignStatus, *, reason: str | None = None
    ) -> Campaign:
        """Change the status; `reason` (one line for the owner) replaces the old one, which a
        change without a reason clears."""
        return await self._update(ident, status=status, status_reason=reason)

    async def set_status_reason(self, ident: int, reason: str | None) -> bool:
        """Say (or, with None, stop saying) why the campaign does not dial; True if it changed."""
        campaign = await self.require(ident)
        if campaign.status_reason == reason:
            return False
        await self._update(ident, status_reason=reason)
        return True

    async def set_summary(self, ident: int, summary: str) -> None:
        await self._update(ident, summary=summary)

    async def progress(self, ident: int) -> tuple[int, int]:
        """(tasks ended, tasks in all) of one campaign."""
        await self.require(ident)
        ended = func.sum(case((Task.status.in_(OPEN_TASK_STATUSES), 0), else_=1))
        row = (
            await self._session.execute(
                select(func.count(Task.id), ended).where(
                    Task.user_id == self.user_id, Task.campaign_id == ident
                )
            )
        ).one()
        return int(row[1] or 0), int(row[0] or 0)


class TaskRepo(_Scoped[Task]):
    model = Task
    label = "task"

    async def add(
        self,
        *,
        campaign_id: int,
        target_name: str,
        phone_e164: str,
        time_zones: Iterable[str] = (),
        instructions: str = "",
        due_at: dt.datetime | None = None,
        max_attempts: int = 3,
    ) -> Task:
        """Add a task to one of this user's campaigns; idempotent per (campaign, number)."""
        await CampaignRepo(self._session, self.user_id).require(campaign_id)
        existing = await self._session.execute(
            self._select().where(Task.campaign_id == campaign_id, Task.phone_e164 == phone_e164)
        )
        found = existing.scalar_one_or_none()
        if found is not None:
            return found
        task = Task(
            user_id=self.user_id,
            campaign_id=campaign_id,
            target_name=target_name,
            phone_e164=phone_e164,
            time_zones=list(time_zones),
            instructions=instructions,
            due_at=due_at or utcnow(),
            max_attempts=max_attempts,
        )
        self._session.add(task)
        await self._session.flush()
        return task

    async def list_for_campaign(self, campaign_id: int) -> Sequence[Task]:
        stmt = self._select().where(Task.campaign_id == campaign_id).order_by(Task.id)
        return (await self._session.execute(stmt)).scalars().all()

    async def list_open(self) -> Sequence[Task]:
        stmt = self._select().where(Task.status.in_(OPEN_TASK_STATUSES)).order_by(Task.due_at)
        return (await self._session.execute(stmt)).scalars().all()

    async def set_status(
        self,
        ident: int,
        status: TaskStatus,
        *,
        due_at: dt.datetime | None = None,
        last_outcome: str | None = None,
        result: TaskResult | None = None,
    ) -> Task:
        """Move the task on; leaving CLAIMED always drops the node's lease.

        `last_outcome` is an `AttemptResult`, or the outcome of the call's analysis.
        """
        values: dict[str, Any] = {"status": status}
        if due_at is not None:
            values["due_at"] = due_at
        if last_outcome is not None:
            values["last_outcome"] = last_outcome
        if result is not None:
            values["result"] = result.to_json()
        if status is not TaskStatus.CLAIMED:
            values.update(claimed_by=None, lease_expires_at=None)
        return await self._update(ident, **values)

    async def record_attempt(self, ident: int, attempt: int) -> Task:
        """Count a dial attempt (called just before the Originate of that attempt)."""
        return await self._update(ident, attempts=attempt)

    async def extend_lease(self, ident: int, *, node_id: str, until: dt.datetime) -> bool:
        """Extend this node's lease on a task it is calling or analysing; False if the node no
        longer holds it."""
        result = await self._session.execute(
            update(Task)
            .where(
                Task.user_id == self.user_id,
                Task.id == ident,
                Task.status.in_([TaskStatus.CLAIMED, TaskStatus.ANALYZING]),
                Task.claimed_by == node_id,
            )
            .values(lease_expires_at=until)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def count_claimed(self, *, except_task_ids: Collection[int]) -> int:
        """How many of this user's other tasks are being called right now (any campaign)."""
        stmt = select(func.count(Task.id)).where(
            Task.user_id == self.user_id,
            Task.id.not_in(list(except_task_ids)),
            Task.status == TaskStatus.CLAIMED,
        )
        return int((await self._session.execute(stmt)).scalar_one())

    async def in_progress_siblings(self, campaign_id: int, *, task_id: int) -> int:
        """How many other tasks of the campaign are being called or analysed right now."""
        stmt = select(func.count(Task.id)).where(
            Task.user_id == self.user_id,
            Task.campaign_id == campaign_id,
            Task.id != task_id,
            Task.status.in_([TaskStatus.CLAIMED, TaskStatus.ANALYZING]),
        )
        return int((await self._session.execute(stmt)).scalar_one())

    async def sibling_succeeded(self, campaign_id: int, *, task_id: int) -> bool:
        """Whether another task of the campaign ended with its goal achieved."""
        stmt = select(Task.result).where(
            Task.user_id == self.user_id,
            Task.campaign_id == campaign_id,
            Task.id != task_id,
            Task.status == TaskStatus.COMPLETED,
        )
        results = (await self._session.execute(stmt)).scalars()
        return any(TaskResult.read(r).goal_achieved for r in results)

    async def cancel_pending_siblings(self, campaign_id: int, *, keep_task_id: int | None) -> int:
        """Cancel this campaign's tasks that have not started; returns how many."""
        stmt = (
            update(Task)
            .where(
                Task.user_id == self.user_id,
                Task.campaign_id == campaign_id,
                Task.status.in_([TaskStatus.PENDING, TaskStatus.ON_HOLD]),
            )
            .values(status=TaskStatus.CANCELLED, updated_at=utcnow())
        )
        if keep_task_id is not None:
            stmt = stmt.where(Task.id != keep_task_id)
        result = await self._session.execute(stmt)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def start_analysis(self, ident: int, *, node_id: str | None = None) -> bool:
        """CLAIMED → ANALYZING once the call has ended. The claim and its lease stay with the
        node (its lease keeper goes on renewing them) until the next step moves the task on;
        False if the task is not claimed (by `node_id`, when given)."""
        stmt = (
            update(Task)
            .where(
                Task.user_id == self.user_id,
                Task.id == ident,
                Task.status == TaskStatus.CLAIMED,
            )
            .values(status=TaskStatus.ANALYZING, updated_at=utcnow())
        )
        if node_id is not None:
            stmt = stmt.where(Task.claimed_by == node_id)
        result = await self._session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_phone(self, ident: int, phone_e164: str, time_zones: Iterable[str]) -> Task:
        """Give the task another number (the owner said the old one was wrong)."""
        return await self._update(ident, phone_e164=phone_e164, time_zones=list(time_zones))

    async def append_instructions(
        self, text: str, *, task_id: int | None = None, campaign_id: int | None = None
    ) -> int:
        """Append `text` to the instructions of one task, or of a campaign's tasks not ended,
        in one UPDATE (nothing written at the same moment is lost); returns how many."""
        if (task_id is None) == (campaign_id is None):
            raise ValueError("append to one task or to one campaign's tasks")
        stmt = (
            update(Task)
            .where(Task.user_id == self.user_id, Task.status.in_(OPEN_TASK_STATUSES))
            .values(instructions=Task.instructions + text, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if task_id is not None:
            stmt = stmt.where(Task.id == task_id)
        else:
            stmt = stmt.where(Task.campaign_id == campaign_id)
        result = await self._session.execute(stmt)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class CallRepo(_Scoped[Call]):
    model = Call
    label = "call"

    async def create(
        self, *, task_id: int, attempt: int, call_uuid: str, dialed_number: str, node_id: str
    ) -> Call:
        await TaskRepo(self._session, self.user_id).require(task_id)
        call = Call(
            user_id=self.user_id,
            task_id=task_id,
            attempt=attempt,
            call_uuid=call_uuid,
            dialed_number=dialed_number,
            node_id=node_id,
        )
        self._session.add(call)
        await self._session.flush()
        return call

    async def by_uuid(self, call_uuid: str) -> Call | None:
        stmt = self._select().where(Call.call_uuid == call_uuid)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def list_for_task(self, task_id: int) -> Sequence[Call]:
        stmt = self._select().where(Call.task_id == task_id).order_by(Call.attempt)
        return (await self._session.execute(stmt)).scalars().all()

    async def list_live(self) -> Sequence[Call]:
        stmt = self._select().where(Call.state != CallState.ENDED).order_by(Call.created_at)
        return (await self._session.execute(stmt)).scalars().all()

    async def last_outcomes(self, campaign_id: int, limit: int) -> list[CallOutcome | None]:
        """The outcomes of the campaign's `limit` most recent calls, newest first."""
        stmt = (
            select(Call.outcome)
            .join(Task, (Task.id == Call.task_id) & (Task.user_id == self.user_id))
            .where(Call.user_id == self.user_id, Task.campaign_id == campaign_id)
            .order_by(Call.created_at.desc(), Call.id.desc())
            .limit(limit)
        )
        return list((await self._session.execute(stmt)).scalars().all())

    async def set_progress(
        self,
        ident: int,
        *,
        state: CallState | None = None,
        outcome: CallOutcome | None = None,
        hangup_cause: int | None = None,
        hangup_cause_text: str | None = None,
        amd_status: str | None = None,
        recording_path: str | None = None,
        answered_at: dt.datetime | None = None,
        ended_at: dt.datetime | None = None,
        end_reason: str | None = None,
        voice: str | None = None,
        recording_problem: str | None = None,
    ) -> Call:
        """Record what telephony (or the bridge) learnt about the call; fields left None are
        unchanged."""
        values = {
            k: v
            for k, v in {
                "state": state,
                "outcome": outcome,
                "end_reason": end_reason[:300] if end_reason else None,
                "recording_problem": recording_problem[:300] if recording_problem else None,
                "voice": voice,
                "hangup_cause": hangup_cause,
                "hangup_cause_text": hangup_cause_text,
                "amd_status": amd_status,
                "recording_path": recording_path,
                "answered_at": answered_at,
                "ended_at": ended_at,
            }.items()
            if v is not None
        }
        if not values:
            return await self.require(ident)
        return await self._update(ident, **values)

    async def set_results(
        self,
        ident: int,
        *,
        facts: Sequence[RecordedFact] | None = None,
        analysis: StoredAnalysis | None = None,
    ) -> Call:
        """Store the in-call facts and/or the post-call analysis."""
        values: dict[str, Any] = {}
        if facts is not None:
            values["facts"] = dump_items(facts)
        if analysis is not None:
            values["analysis"] = analysis.model_dump(mode="json")
        return await self._update(ident, **values) if values else await self.require(ident)

    async def append_turns(self, ident: int, turns: Sequence[TranscriptTurn]) -> None:
        """Append turns to the call's transcript in their order, in a single UPDATE: turns
        written at the same moment (two batches of one call) all land."""
        if turns:
            await self._append(ident, Call.transcript, dump_items(turns))

    async def append_fact(self, ident: int, fact: RecordedFact) -> None:
        """Append one fact to the call's `facts` in a single UPDATE: facts recorded at the same
        moment (several tool calls of one response) all land, on SQLite and PostgreSQL alike."""
        await self._append(ident, Call.facts, [fact.to_json()])

    async def _append(self, ident: int, column: Any, items: list[dict[str, Any]]) -> None:
        # The database appends to the stored list itself: no read-modify-write, so nothing
        # another transaction appends meanwhile is overwritten.
        new: Any
        if self._dialect == "postgresql":
            # The column is `json`, which has no concatenation; `jsonb` has.
            added = bindparam(None, items, type_=JSONB)
            new = cast(cast(column, JSONB).op("||")(added), JSON)
        else:
            new = column
            for start in range(0, len(items), _SQLITE_APPENDS):
                paths: list[Any] = []
                for item in items[start : start + _SQLITE_APPENDS]:
                    paths += ["$[#]", func.json(bindparam(None, item, type_=JSON))]
                new = func.json_insert(new, *paths)
        result = await self._session.execute(
            update(Call)
            .where(Call.user_id == self.user_id, Call.id == ident)
            .values({column: new})
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFound(self.label, ident)
        # A call this session has loaded would still show the list as it was: the next read
        # of it loads the column again.
        loaded = self._session.identity_map.get(identity_key(Call, ident))
        if loaded is not None:
            self._session.expire(loaded, [column.key])

    async def set_voice_activity(self, ident: int, activity: VoiceActivityRecord) -> None:
        """Store what the call's bridge saw of the callee's voice (`media.speech_activity`)."""
        await self._update(ident, voice_activity=activity.to_json())

    @property
    def _dialect(self) -> str:
        bind = self._session.bind
        return bind.dialect.name if bind is not None else ""


class DndRepo:
    """The user's Do-Not-Call list; lookups also honour the global list (`user_id` NULL)."""

    def __init__(self, session: AsyncSession, user_id: int) -> None:
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
            raise ValueError(f"a user-scoped repository needs a user id, got {user_id!r}")
        self._session = session
        self.user_id = user_id

    async def add(self, phone_e164: str, *, reason: str = "", source: str = "manual") -> DndEntry:
        existing = await self._own(phone_e164)
        if existing is not None:
            return existing
        entry = DndEntry(user_id=self.user_id, phone_e164=phone_e164, reason=reason, source=source)
        self._session.add(entry)
        await self._session.flush()
        return entry

    async def remove(self, phone_e164: str) -> bool:
        result = await self._session.execute(
            delete(DndEntry)
            .where(DndEntry.user_id == self.user_id, DndEntry.phone_e164 == phone_e164)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def list(self) -> Sequence[DndEntry]:
        stmt = (
            select(DndEntry)
            .where(DndEntry.user_id == self.user_id)
            .order_by(DndEntry.created_at.desc(), DndEntry.id.desc())
        )
        return (await self._session.execute(stmt)).scalars().all()

    async def blocks(self, phone_e164: str) -> bool:
        """True when the number is on this user's list or on the global list."""
        return await self.blocking_list(phone_e164) is not None

    async def blocking_list(self, phone_e164: str) -> Literal["user", "global"] | None:
        """Which list holds the number: this user's, the global one, or None."""
        stmt = select(DndEntry.user_id).where(
            DndEntry.phone_e164 == phone_e164,
            or_(DndEntry.user_id == self.user_id, DndEntry.user_id.is_(None)),
        )
        owners = set((await self._session.execute(stmt)).scalars().all())
        if self.user_id in owners:
            return "user"
        return "global" if owners else None

    async def _own(self, phone_e164: str) -> DndEntry | None:
        stmt = select(DndEntry).where(
            DndEntry.user_id == self.user_id, DndEntry.phone_e164 == phone_e164
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()


class FeedbackRepo(_Scoped[FeedbackRequest]):
    model = FeedbackRequest
    label = "feedback request"

    async def create(
        self,
        *,
        kind: FeedbackKind,
        question: str,
        payload: dict[str, Any] | None = None,
        campaign_id: int | None = None,
        task_id: int | None = None,
        call_id: int | None = None,
        thread_id: str | None = None,
        expires_at: dt.datetime | None = None,
    ) -> FeedbackRequest:
        if campaign_id is not None:
            await CampaignRepo(self._session, self.user_id).require(campaign_id)
        if task_id is not None:
            await TaskRepo(self._session, self.user_id).require(task_id)
        if call_id is not None:
            await CallRepo(self._session, self.user_id).require(call_id)
        item = FeedbackRequest(
            user_id=self.user_id,
            kind=kind,
            question=question,
            payload=payload or {},
            campaign_id=campaign_id,
            task_id=task_id,
            call_id=call_id,
            thread_id=thread_id,
            expires_at=expires_at,
        )
        self._session.add(item)
        await self._session.flush()
        return item

    async def list_pending(self, kind: FeedbackKind | None = None) -> Sequence[FeedbackRequest]:
        stmt = self._select().where(FeedbackRequest.status == FeedbackStatus.PENDING)
        if kind is not None:
            stmt = stmt.where(FeedbackRequest.kind == kind)
        stmt = stmt.order_by(FeedbackRequest.created_at, FeedbackRequest.id)
        return (await self._session.execute(stmt)).scalars().all()

    async def answer(self, ident: int, answer: dict[str, Any]) -> bool:
        """Record the owner's answer if the item is still pending; False if it was not."""
        stmt = (
            update(FeedbackRequest)
            .where(
                FeedbackRequest.user_id == self.user_id,
                FeedbackRequest.id == ident,
                FeedbackRequest.status == FeedbackStatus.PENDING,
            )
            .values(status=FeedbackStatus.ANSWERED, answer=answer, answered_at=utcnow())
        )
        result = await self._session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def close(self, ident: int, status: FeedbackStatus, *, reason: str = "") -> bool:
        """Expire, cancel or close a pending item (`reason` goes into its payload as
        `closed_reason`); False if it was no longer pending."""
        values: dict[str, Any] = {"status": status}
        if reason:
            item = await self.require(ident)
            values["payload"] = {**item.payload, "closed_reason": reason}
        stmt = (
            update(FeedbackRequest)
            .where(
                FeedbackRequest.user_id == self.user_id,
                FeedbackRequest.id == ident,
                FeedbackRequest.status == FeedbackStatus.PENDING,
            )
            .values(**values)
        )
        result = await self._session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def close_call_questions(self, call_id: int, reason: str) -> list[int]:
        """Close the live questions of a call that are still pending; their ids."""
        stmt = self._select().where(
            FeedbackRequest.call_id == call_id,
            FeedbackRequest.kind == FeedbackKind.LIVE_QUESTION,
            FeedbackRequest.status == FeedbackStatus.PENDING,
        )
        closed = []
        for item in (await self._session.execute(stmt)).scalars().all():
            if await self.close(item.id, FeedbackStatus.CLOSED, reason=reason):
                closed.append(item.id)
        return closed

    async def keep_late_answer(self, ident: int, answer: dict[str, Any]) -> bool:
        """Store an answer that came after the item expired or was closed (it stays so);
        False if the item is not closed or already has an answer."""
        stmt = (
            update(FeedbackRequest)
            .where(
                FeedbackRequest.user_id == self.user_id,
                FeedbackRequest.id == ident,
                FeedbackRequest.status.in_([FeedbackStatus.EXPIRED, FeedbackStatus.CLOSED]),
                FeedbackRequest.answer.is_(None),
            )
            .values(answer=answer, answered_at=utcnow())
        )
        result = await self._session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def add_note(
        self,
        call_id: int,
        text: str,
        *,
        at: dt.datetime | None = None,
        kind: FeedbackKind = FeedbackKind.OWNER_NOTE,
    ) -> FeedbackRequest:
        """A note from the owner to the agent of one of their calls, or (`kind` TAKE_OVER)
        their asking to be called in. It is stored answered (the owner's words, `{"text": …}`),
        so it is never in the inbox; the call's bridge reads it (`undelivered_notes`) and marks
        it applied once delivered."""
        if kind not in (FeedbackKind.OWNER_NOTE, FeedbackKind.TAKE_OVER):
            raise ValueError(f"not a message to a live call: {kind}")
        call = await CallRepo(self._session, self.user_id).require(call_id)
        task = await TaskRepo(self._session, self.user_id).require(call.task_id)
        at = at or utcnow()
        item = FeedbackRequest(
            user_id=self.user_id,
            kind=kind,
            status=FeedbackStatus.ANSWERED,
            question="",
            payload={},
            answer={"text": text},
            campaign_id=task.campaign_id,
            task_id=task.id,
            call_id=call_id,
            created_at=at,
            answered_at=at,
        )
        self._session.add(item)
        await self._session.flush()
        return item

    async def undelivered_notes(self, call_id: int) -> Sequence[FeedbackRequest]:
        """The owner's notes to a call that no bridge has delivered yet (`mark_applied`),
        oldest first."""
        stmt = (
            self._select()
            .where(
                FeedbackRequest.call_id == call_id,
                FeedbackRequest.kind == FeedbackKind.OWNER_NOTE,
                FeedbackRequest.status == FeedbackStatus.ANSWERED,
            )
            .order_by(FeedbackRequest.answered_at, FeedbackRequest.id)
        )
        items = (await self._session.execute(stmt)).scalars().all()
        return [i for i in items if "applied" not in (i.payload or {})]

    async def list_for_campaign(
        self, campaign_id: int, kind: FeedbackKind
    ) -> Sequence[FeedbackRequest]:
        """A campaign's items of one kind, whatever their status, oldest first."""
        stmt = (
            self._select()
            .where(FeedbackRequest.campaign_id == campaign_id, FeedbackRequest.kind == kind)
            .order_by(FeedbackRequest.created_at, FeedbackRequest.id)
        )
        return (await self._session.execute(stmt)).scalars().all()

    async def late_answers(self, task_id: int) -> Sequence[FeedbackRequest]:
        """A task's live questions answered only after they had closed, oldest first."""
        stmt = (
            self._select()
            .where(
                FeedbackRequest.task_id == task_id,
                FeedbackRequest.kind == FeedbackKind.LIVE_QUESTION,
                FeedbackRequest.status.in_([FeedbackStatus.EXPIRED, FeedbackStatus.CLOSED]),
                FeedbackRequest.answer.is_not(None),
            )
            .order_by(FeedbackRequest.answered_at, FeedbackRequest.id)
        )
        return (await self._session.execute(stmt)).scalars().all()

    async def list_unapplied(self, kinds: Collection[FeedbackKind]) -> Sequence[FeedbackRequest]:
        """Answered items no graph was waiting on (no thread) whose answer has not been acted
        on yet (`mark_applied`), oldest answer first."""
        stmt = (
            self._select()
            .where(
                FeedbackRequest.status == FeedbackStatus.ANSWERED,
                FeedbackRequest.thread_id.is_(None),
                FeedbackRequest.kind.in_(list(kinds)),
            )
            .order_by(FeedbackRequest.answered_at, FeedbackRequest.id)
        )
        items = (await self._session.execute(stmt)).scalars().all()
        return [i for i in items if FeedbackPayload.read(i.payload).applied is None]

    async def lock(self, ident: int) -> FeedbackRequest:
        """The item, locked until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite holds
        one writer at a time anyway), so two passes never act on one answer twice."""
        stmt = (
            self._select()
            .where(FeedbackRequest.id == ident)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        item = (await self._session.execute(stmt)).scalar_one_or_none()
        if item is None:
            raise NotFound(self.label, ident)
        return item

    async def mark_applied(self, ident: int, outcome: str) -> None:
        """Record what the answer did (`payload.applied`), so it is acted on once."""
        item = await self.require(ident)
        await self._update(ident, payload={**item.payload, "applied": outcome})


class AuditRepo(_Scoped[AuditEvent]):
    """The user's audit trail: decisions taken on their data. Events are only added."""

    model = AuditEvent
    label = "audit event"
    _actor: str | None = None

    async def record(
        self,
        action: AuditAction,
        subject: str,
        detail: AuditDetail | None = None,
        *,
        at: dt.datetime | None = None,
        actor: str | None = None,
    ) -> AuditEvent:
        """Add an event; `actor` is the user's name unless something else decided (the
        post-call analyzer honouring a callee's opt-out)."""
        if actor is None:
            actor = await self._user_name()
        event = AuditEvent(
            user_id=self.user_id,
            at=at or utcnow(),
            actor=actor[:64],
            action=action,
            subject=subject[:200],
            detail=(detail or AuditDetail()).to_json(),
        )
        self._session.add(event)
        await self._session.flush()
        return event

    async def list(self, limit: int = 200) -> Sequence[AuditEvent]:
        """The user's latest events, newest first."""
        stmt = self._select().order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
        return (await self._session.execute(stmt)).scalars().all()

    async def _user_name(self) -> str:
        if self._actor is None:
            stmt = select(User.username).where(User.id == self.user_id)
            self._actor = (await self._session.execute(stmt)).scalar_one()
        return self._actor


class UserScope:
    """One user's view of the data: the only public way to reach user-owned rows."""

    def __init__(self, session: AsyncSession, user_id: int) -> None:
        self.session = session
        self.user_id = user_id
        self.campaigns = CampaignRepo(session, user_id)
        self.tasks = TaskRepo(session, user_id)
        self.calls = CallRepo(session, user_id)
        self.dnd = DndRepo(session, user_id)
        self.feedback = FeedbackRepo(session, user_id)
        self.audit = AuditRepo(session, user_id)
