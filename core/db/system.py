"""Operations of the node itself (scheduler, media server, telephony) that span users.

They hand back ids only — (user id, object id) pairs, or the installation's own id — so that
whatever is read next goes through that user's `UserScope`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import INSTALLATION_ROW, Call, Campaign, FeedbackRequest, Installation, Task
from core.db.types import utcnow
from core.domain import CampaignStatus, FeedbackKind, FeedbackStatus, TaskStatus


@dataclass(slots=True, eq=False)
class LeaseState:
    """What a node knows of its lease on a task it claimed.

    The dispatcher's lease keeper sets `lost` (and why) once it finds the task is no longer the
    node's: the lease ran out and a reaper gave the task back, or another node claimed it. The
    attempt then still finishes its call, but must not write the task's outcome over the claim
    of whoever holds the task now.
    """

    lost: bool = False
    why: str = ""

    def lose(self, why: str) -> None:
        self.lost, self.why = True, why


@dataclass(frozen=True, slots=True)
class Claim:
    """A task this node now holds. `attempt` is the number the next dial would carry."""

    user_id: int
    task_id: int
    attempt: int
    lease_expires_at: dt.datetime
    lease: LeaseState = field(default_factory=LeaseState, compare=False, repr=False)


# A node holds a task while it calls it and while it analyses the call (its lease runs on).
LEASED_STATUSES = (TaskStatus.CLAIMED, TaskStatus.ANALYZING)


@dataclass(frozen=True, slots=True)
class Lease:
    """A held task as the reaper sees it: whose it is, which node holds it, until when."""

    user_id: int
    task_id: int
    node_id: str | None
    expires_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class CallRef:
    user_id: int
    call_id: int
    task_id: int


class SystemOps:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def _is_postgres(self) -> bool:
        return self._session.get_bind().dialect.name == "postgresql"

    async def installation_id(self) -> uuid.UUID:
        """This database's installation id: the same for every node using it, and forever.

        The migration creates it. Were the row missing, the first reader creates it; readers
        racing there all get the one stored (insert-if-absent on the fixed key, then read).
        """
        stmt = select(Installation.installation_id).where(Installation.id == INSTALLATION_ROW)
        found = (await self._session.execute(stmt)).scalar_one_or_none()
        if found is not None:
            return found
        row = {"id": INSTALLATION_ROW, "installation_id": uuid.uuid4(), "created_at": utcnow()}
        insert: Insert
        if self._is_postgres:
            insert = postgresql.insert(Installation).on_conflict_do_nothing(index_elements=["id"])
        else:
            insert = sqlite.insert(Installation).on_conflict_do_nothing(index_elements=["id"])
        await self._session.execute(insert.values(row))
        return (await self._session.execute(stmt)).scalar_one()

    async def claim_due(
        self, *, node_id: str, now: dt.datetime, lease: dt.timedelta, limit: int
    ) -> list[Claim]:
        """Atomically claim up to `limit` due tasks of active campaigns for this node.

        PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED`; SQLite: one conditional UPDATE per
        candidate (`WHERE status='pending'`), so two nodes can never claim the same task.
        """
        if limit <= 0:
            return []
        expires = now + lease
        candidates = (
            select(Task.id)
            .join(Campaign, Campaign.id == Task.campaign_id)
            .where(
                Task.status == TaskStatus.PENDING,
                Task.due_at <= now,
                Campaign.status == CampaignStatus.ACTIVE,
            )
            .order_by(Task.due_at, Task.id)
            .limit(limit)
        )
        claims: list[Claim] = []
        if self._is_postgres:
            ids = (
                (await self._session.execute(candidates.with_for_update(skip_locked=True, of=Task)))
                .scalars()
                .all()
            )
            if not ids:
                return []
            rows = await self._session.execute(
                update(Task)
                .where(Task.id.in_(ids))
                .values(
                    status=TaskStatus.CLAIMED,
                    claimed_by=node_id,
                    lease_expires_at=expires,
                    updated_at=now,
                )
                .returning(Task.user_id, Task.id, Task.attempts)
            )
            claims = [Claim(r[0], r[1], r[2] + 1, expires) for r in rows.all()]
        else:
            for task_id in (await self._session.execute(candidates)).scalars().all():
                row = (
                    await self._session.execute(
                        update(Task)
                        .where(Task.id == task_id, Task.status == TaskStatus.PENDING)
                        .values(
                            status=TaskStatus.CLAIMED,
                            claimed_by=node_id,
                            lease_expires_at=expires,
                            updated_at=now,
                        )
                        .returning(Task.user_id, Task.id, Task.attempts)
                    )
                ).first()
                if row is not None:
                    claims.append(Claim(row[0], row[1], row[2] + 1, expires))
        return sorted(claims, key=lambda c: c.task_id)

    async def expired_leases(self, now: dt.datetime) -> Sequence[Lease]:
        """Held tasks (being called or analysed) whose lease has run out, whichever node held
        them."""
        return await self._leases(Task.lease_expires_at < now)

    async def claims_of(self, node_id: str) -> Sequence[Lease]:
        """The tasks `node_id` holds, their leases run out or not (its own, after a restart)."""
        return await self._leases(Task.claimed_by == node_id)

    async def _leases(self, condition: ColumnElement[bool]) -> Sequence[Lease]:
        stmt = (
            select(Task.user_id, Task.id, Task.claimed_by, Task.lease_expires_at)
            .where(Task.status.in_(LEASED_STATUSES), condition)
            .order_by(Task.id)
        )
        return [Lease(*row) for row in (await self._session.execute(stmt)).all()]

    async def next_due_at(self) -> dt.datetime | None:
        """When the earliest pending task of an active campaign is due (for the alarm clock)."""
        stmt = (
            select(Task.due_at)
            .join(Campaign, Campaign.id == Task.campaign_id)
            .where(Task.status == TaskStatus.PENDING, Campaign.status == CampaignStatus.ACTIVE)
            .order_by(Task.due_at)
            .limit(1)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def users_with_open_campaigns(self) -> Sequence[int]:
        """Users with a campaign that is active or paused (the lifecycle manager's round), in
        the order of their ids."""
        stmt = (
            select(Campaign.user_id)
            .where(Campaign.status.in_([CampaignStatus.ACTIVE, CampaignStatus.PAUSED]))
            .distinct()
            .order_by(Campaign.user_id)
        )
        return list((await self._session.execute(stmt)).scalars().all())

    async def undelivered_notes(
        self, calls: Collection[tuple[int, int]]
    ) -> Sequence[FeedbackRequest]:
        """The owners' notes and take-over requests not delivered yet to the calls given as
        (user id, call id) — each call's from its own user only — oldest first: one read for
        every call a node carries (`media.owner_notes`)."""
        if not calls:
            return []
        stmt = (
            select(FeedbackRequest)
            .where(
                tuple_(FeedbackRequest.user_id, FeedbackRequest.call_id).in_(list(calls)),
                FeedbackRequest.kind.in_([FeedbackKind.OWNER_NOTE, FeedbackKind.TAKE_OVER]),
                FeedbackRequest.status == FeedbackStatus.ANSWERED,
            )
            .order_by(FeedbackRequest.answered_at, FeedbackRequest.id)
        )
        return list((await self._session.execute(stmt)).scalars().all())

    async def locate_call(self, call_uuid: str) -> CallRef | None:
        """Which user and call an AudioSocket/AMI call UUID belongs to."""
        stmt = select(Call.user_id, Call.id, Call.task_id).where(Call.call_uuid == call_uuid)
        row = (await self._session.execute(stmt)).first()
        return CallRef(row[0], row[1], row[2]) if row else None
