"""The domain's vocabulary (statuses, outcomes, actions) and the shapes of its JSON columns.

Free of the database layer: every package may use it, `core.db` included.
"""

from core.domain.analysis import OUTCOMES, CallAnalysis, Fact, NextStep, Outcome, StoredAnalysis
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
)
from core.domain.turn_taking import HOLD_LIMIT_S, MAX_HOLD_LIMIT_S, MIN_HOLD_LIMIT_S, TurnTaking
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
    "HOLD_LIMIT_S",
    "MAX_HOLD_LIMIT_S",
    "MIN_HOLD_LIMIT_S",
    "OPEN_TASK_STATUSES",
    "OUTCOMES",
    "REHEARSAL_VOICE",
    "AttemptResult",
    "AuditAction",
    "AuditDetail",
    "CallAnalysis",
    "CallOutcome",
    "CallState",
    "CampaignStatus",
    "EndedBy",
    "Fact",
    "FeedbackAnswer",
    "FeedbackKind",
    "FeedbackStatus",
    "NextAction",
    "NextStep",
    "Outcome",
    "RecordedFact",
    "SpeechTurnRecord",
    "StopRule",
    "StoredAnalysis",
    "TaskResult",
    "TaskStatus",
    "TranscriptTurn",
    "TurnRole",
    "TurnTaking",
    "VoiceActivityRecord",
    "dump_items",
    "read_items",
]
