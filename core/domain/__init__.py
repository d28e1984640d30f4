"""The domain's vocabulary (statuses, outcomes, actions) and the shapes of its JSON columns.

Free of the database layer: every package may use it, `core.db` included.
"""

from core.domain.analysis import OUTCOMES, CallAnalysis, Fact, NextStep, Outcome, StoredAnalysis
from core.domain.feedback import FeedbackPayload, HitlMark, PlanCheck, ReviewedTarget
from core.domain.plan import WEEKDAYS, Constraints, StoredPlan, StoredTarget, Weekday
from core.domain.records import (
    AuditDetail,
    FeedbackAnswer,
    RecordedFact,
    SpeechTurnRecord,
    TaskResult,
    TranscriptTurn,
    VoiceActivityRecord,
    dump_items,
    read_items,
    read_record,
    read_texts,
)
from core.domain.turn_taking import TurnTaking
from core.domain.vocabulary import (
    DIALLING_ACTIONS,
    OPEN_TASK_STATUSES,
    REHEARSAL_VOICE,
    AttemptResult,
    AuditAction,
    CallOutcome,
    CallState,
    CampaignStatus,
    EndedBy,
    FeedbackKind,
    FeedbackStatus,
    NextAction,
    StopRule,
    TaskStatus,
    TurnRole,
)

__all__ = [
    "DIALLING_ACTIONS",
    "OPEN_TASK_STATUSES",
    "OUTCOMES",
    "REHEARSAL_VOICE",
    "WEEKDAYS",
    "AttemptResult",
    "AuditAction",
    "AuditDetail",
    "CallAnalysis",
    "CallOutcome",
    "CallState",
    "CampaignStatus",
    "Constraints",
    "EndedBy",
    "Fact",
    "FeedbackAnswer",
    "FeedbackKind",
    "FeedbackPayload",
    "FeedbackStatus",
    "HitlMark",
    "NextAction",
    "NextStep",
    "Outcome",
    "PlanCheck",
    "RecordedFact",
    "ReviewedTarget",
    "SpeechTurnRecord",
    "StopRule",
    "StoredAnalysis",
    "StoredPlan",
    "StoredTarget",
    "TaskResult",
    "TaskStatus",
    "TranscriptTurn",
    "TurnRole",
    "TurnTaking",
    "VoiceActivityRecord",
    "Weekday",
    "dump_items",
    "read_items",
    "read_record",
    "read_texts",
]
