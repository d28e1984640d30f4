"""SQLAlchemy 2.0 typed models. Every row that belongs to a user carries `user_id`.

The JSON columns hold the shapes of `core.domain.records` (and `core.domain.analysis`).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.db.types import UTCDateTime, utcnow
from core.domain.vocabulary import (
    OPEN_TASK_STATUSES,
    REHEARSAL_VOICE,
    AuditAction,
    CallOutcome,
    CallState,
    CampaignStatus,
    FeedbackKind,
    FeedbackStatus,
    StopRule,
    TaskStatus,
)

# The enums live in `core.domain`; they are named here for the code that reads the rows.
__all__ = [
    "INSTALLATION_ROW",
    "OPEN_TASK_STATUSES",
    "REHEARSAL_VOICE",
    "AuditAction",
    "AuditEvent",
    "Base",
    "Call",
    "CallOutcome",
    "CallState",
    "Campaign",
    "CampaignStatus",
    "DndEntry",
    "FeedbackKind",
    "FeedbackRequest",
    "FeedbackStatus",
    "Installation",
    "StopRule",
    "Task",
    "TaskStatus",
    "User",
]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as plain strings (no native PG enum): adding a value needs no type migration.
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(255))
    preferences: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Where the user takes a call over (E.164); None: not set, no call of theirs is handed over.
    owner_phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    objective: Mapped[str] = mapped_column(Text)
    plan: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[CampaignStatus] = mapped_column(
        _enum(CampaignStatus), default=CampaignStatus.PENDING_APPROVAL
    )
    stop_rule: Mapped[StopRule] = mapped_column(_enum(StopRule), default=StopRule.CALL_EVERYONE)
    window_start: Mapped[dt.time | None] = mapped_column(Time, nullable=True)
    window_end: Mapped[dt.time | None] = mapped_column(Time, nullable=True)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    recording: Mapped[bool] = mapped_column(Boolean, default=True)
    voicemail_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The number its calls show (E.164, one of CALLER_ID_CHOICES); None: the owner's or node's.
    caller_id: Mapped[str | None] = mapped_column(String(20), nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Why the campaign does not dial right now, in one line for the owner (None: nothing wrong).
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    thread_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("campaign_id", "phone_e164"),
        # The dispatcher's query: pending tasks by due time.
        Index("ix_tasks_status_due_at", "status", "due_at"),
        Index("ix_tasks_status_lease", "status", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    target_name: Mapped[str] = mapped_column(String(200))
    phone_e164: Mapped[str] = mapped_column(String(20))
    time_zones: Mapped[list[Any]] = mapped_column(default=list)
    instructions: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus), default=TaskStatus.PENDING)
    due_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    last_outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (UniqueConstraint("task_id", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    call_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    node_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    dialed_number: Mapped[str] = mapped_column(String(20))
    state: Mapped[CallState] = mapped_column(_enum(CallState), default=CallState.ORIGINATING)
    outcome: Mapped[CallOutcome | None] = mapped_column(_enum(CallOutcome), nullable=True)
    hangup_cause: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hangup_cause_text: Mapped[str | None] = mapped_column(String(128), nullable=True)
    amd_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    recording_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Why an answered call that was to be recorded has no recording (the owner reads it there).
    recording_problem: Mapped[str | None] = mapped_column(String(300), nullable=True)
    transcript: Mapped[list[Any]] = mapped_column(default=list)
    facts: Mapped[list[Any]] = mapped_column(default=list)
    analysis: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Why the call ended when the conversation did not end it (e.g. the voice failed).
    end_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # The voice that carried it: REHEARSAL_VOICE (the local scripted voice) or the model.
    voice: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # What the bridge saw of the callee's voice (server VAD turns, audio level, transcriptions
    # that came or failed): evidence that they spoke even without a transcript.
    voice_activity: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class DndEntry(Base):
    """A Do-Not-Call entry: `user_id` NULL is the global list every user honours."""

    __tablename__ = "dnd_list"
    __table_args__ = (UniqueConstraint("user_id", "phone_e164"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    phone_e164: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(32), default="manual")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FeedbackRequest(Base):
    """Every human-in-the-loop item: plan approval, live-call question, analysis review, check-in."""

    __tablename__ = "feedback_requests"
    __table_args__ = (Index("ix_feedback_requests_user_status", "user_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[FeedbackKind] = mapped_column(_enum(FeedbackKind))
    status: Mapped[FeedbackStatus] = mapped_column(
        _enum(FeedbackStatus), default=FeedbackStatus.PENDING
    )
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=True
    )
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), nullable=True
    )
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), nullable=True
    )
    thread_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    question: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    answered_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class AuditEvent(Base):
    """A decision taken on the user's data: who (`actor`, the user name then), when, what
    (`action` on `subject`, e.g. "campaign 3"), and its particulars (`detail`, an
    `AuditDetail`). Rows are only ever added."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_user_id_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[AuditAction] = mapped_column(_enum(AuditAction))
    subject: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


INSTALLATION_ROW = 1


class Installation(Base):
    """This database's identity: one row, created by the migration, never changed.

    Every node using the database reads the same `installation_id`; the telephony derives its
    Asterisk channel ids from it, so two installations sharing one PBX never share an id.
    """

    __tablename__ = "installation"
    __table_args__ = (CheckConstraint(f"id = {INSTALLATION_ROW}", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    installation_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SignInThrottle(Base):
    """Failed sign-ins of one key: `user:NAME` or `addr:ADDRESS` (names that exist or not)."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locks: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class UiSession(Base):
    """A signed-in browser session. Only a hash of its cookie token is kept."""

    __tablename__ = "ui_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column()
    last_seen_at: Mapped[dt.datetime] = mapped_column()
