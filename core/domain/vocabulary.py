"""The words every layer uses for where a campaign, a task, a call and a question stand.

Each is a `StrEnum` whose values are the strings stored in the database (and shown in the UI),
so a member compares equal to the stored text and nothing needs migrating when a reader
switches from a literal to the member.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class CampaignStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class StopRule(StrEnum):
    FIRST_SUCCESS = "first_success"
    CALL_EVERYONE = "call_everyone"


class TaskStatus(StrEnum):
    PENDING = "pending"  # waiting for due_at
    CLAIMED = "claimed"  # a node holds the lease and is dialling / talking
    ANALYZING = "analyzing"  # call ended, post-call analysis running
    ON_HOLD = "on_hold"  # waiting for the owner
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


OPEN_TASK_STATUSES: Final = (
    TaskStatus.PENDING,
    TaskStatus.CLAIMED,
    TaskStatus.ANALYZING,
    TaskStatus.ON_HOLD,
)


class CallState(StrEnum):
    ORIGINATING = "originating"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


class CallOutcome(StrEnum):
    """What telephony (or the bridge) saw of the call (`calls.outcome`)."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    FAILED = "failed"
    CANCELLED = "cancelled"
    VOICEMAIL = "voicemail"
    TECHNICAL_FAILURE = "technical_failure"


class AttemptResult(StrEnum):
    """What an attempt came to when no analysis of a conversation decided it.

    Stored in `tasks.last_outcome` (which otherwise holds the analysis' outcome) and read by
    the retry policy, whose delays are keyed by these values.
    """

    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    FAILED = "failed"
    TECHNICAL_FAILURE = "technical_failure"
    VOICEMAIL = "voicemail"
    CANCELLED = "cancelled"
    AWAITING_REVIEW = "awaiting_review"  # the owner decides (the analysis could not)


class NextAction(StrEnum):
    """What happens to a task after its call (`NextStep.action`)."""

    DONE = "done"
    RETRY_AT = "retry_at"
    CALL_BACK_AT = "call_back_at"
    ASK_OWNER = "ask_owner"
    CANCEL_SIBLINGS = "cancel_siblings"  # goal met: the campaign's other targets are not called
    CANCEL = "cancel"  # stop calling this target: the owner's choice alone, never the model's


# The actions that dial the task again, at the step's time.
DIALLING_ACTIONS: Final = (NextAction.RETRY_AT, NextAction.CALL_BACK_AT)


class EndedBy(StrEnum):
    """Who ended a call's conversation."""

    AGENT = "agent"
    CALLEE = "callee"
    VOICEMAIL = "voicemail"  # the message was left on a mailbox
    FAILURE = "failure"  # the voice or the line failed
    HANDED_OVER = "handed_over"  # the agent bridged the callee with the owner and left


class TurnRole(StrEnum):
    """Who spoke a transcript turn."""

    AGENT = "agent"
    CALLEE = "callee"
    OWNER = "owner"  # the owner's answer to a live question, read out on the call
    OWNER_NOTE = "owner_note"  # a note the owner sent the agent during the call (not said)
    HANDOVER = "handover"  # the call handed to the owner, or why it was not (not said)


class FeedbackKind(StrEnum):
    PLAN_APPROVAL = "plan_approval"
    LIVE_QUESTION = "live_question"
    ANALYSIS_REVIEW = "analysis_review"
    CHECK_IN = "check_in"
    # The owner steering a live call: stored answered (the note is the answer), delivered to
    # the call's voice agent by the bridge, which marks it `applied`. Never in the inbox.
    OWNER_NOTE = "owner_note"
    # The owner asking to take a live call over (*Call me in*): stored answered like a note,
    # read by the same board and handed to the call's conversation as its TakeOver input.
    TAKE_OVER = "take_over"


class FeedbackStatus(StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    CLOSED = "closed"  # no answer can help any more (the call ended first); payload says why


class AuditAction(StrEnum):
    """A decision the audit trail keeps (`audit_events.action`)."""

    PLAN_APPROVED = "plan_approved"
    PLAN_EDITED = "plan_edited"
    PLAN_REJECTED = "plan_rejected"
    QUESTION_ANSWERED = "question_answered"  # a live call's question
    CALL_REVIEWED = "call_reviewed"  # an analysis review
    CHECK_IN_ANSWERED = "check_in_answered"
    CAMPAIGN_PAUSED = "campaign_paused"
    CAMPAIGN_RESUMED = "campaign_resumed"
    CAMPAIGN_CANCELLED = "campaign_cancelled"
    DNC_ADDED = "dnc_added"
    DNC_REMOVED = "dnc_removed"
    SETTINGS_CHANGED = "settings_changed"
    NOTE_SENT = "note_sent"  # a note to a live call's agent
    TAKE_OVER_REQUESTED = "take_over_requested"  # *Call me in* on a live call


REHEARSAL_VOICE: Final = "rehearsal"  # `calls.voice` of a call the local scripted voice carried
