"""What happens after a call: pure rules from the outcome to the next step and to a review.

The model proposes; these rules decide. Retry delays and the callback allowance are the
scheduler's own `core.rules.RetryPolicy`, so the analyzer and the dispatcher never disagree;
every time lands inside the callee's calling window. The owner is asked when the model is unsure
or says only the owner can decide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from agents.calling_window import first_opening
from agents.post_call_analyzer.schemas import ProposedStep
from agents.schemas import Fact, NextStep, Outcome
from core.domain import CallOutcome, StopRule
from core.rules import RetryPolicy
from core.rules.calling_window import Window

_TELEPHONY: dict[CallOutcome, Outcome] = {
    CallOutcome.BUSY: "busy",
    CallOutcome.NO_ANSWER: "no_answer",
    CallOutcome.CONGESTION: "technical_failure",
    CallOutcome.FAILED: "technical_failure",
    CallOutcome.CANCELLED: "technical_failure",
    CallOutcome.TECHNICAL_FAILURE: "technical_failure",
    CallOutcome.VOICEMAIL: "voicemail",
}


def outcome_from_telephony(outcome: CallOutcome | None, *, callee_spoke: bool) -> Outcome | None:
    """The outcome when telephony alone tells it (nobody talked); None when the model must read.

    `callee_spoke` is any sign of the callee's voice, not only transcribed words: server VAD
    turns and the audio's level count too (`agents.post_call_analyzer.evidence.callee_spoke`),
    so a call whose transcription was off or failing is read, not taken for a failure.
    """
    if callee_spoke:
        return None
    if outcome is None or outcome is CallOutcome.ANSWERED:
        return "technical_failure"  # answered, yet no sign of the callee's voice at all
    return _TELEPHONY[outcome]


def decide_next_step(
    outcome: Outcome,
    *,
    goal_achieved: bool,
    callback_at: dt.datetime | None,
    proposed: ProposedStep | None,
    stop_rule: StopRule,
    attempts: int,
    max_attempts: int,
    now: dt.datetime,
    zones: Sequence[str],
    window: Window | None,
    policy: RetryPolicy | None = None,
) -> NextStep:
    """The next step for the task; times are aware, never in the past, inside the window."""
    policy = policy or RetryPolicy()
    if goal_achieved:
        if stop_rule is StopRule.FIRST_SUCCESS:
            return NextStep(action="cancel_siblings", reason="goal achieved; stop rule met")
        return NextStep(action="done", reason="goal achieved")
    if proposed == "ask_owner" or outcome == "partial":
        return NextStep(action="ask_owner", reason="a decision only the owner can make")
    callback = outcome == "callback_requested"
    if callback and (callback_at is None or callback_at <= now):
        return NextStep(action="ask_owner", reason="callback asked for, but when is unclear")
    plan = policy.next_attempt(
        outcome,
        attempts_made=attempts,
        max_attempts=max_attempts,
        now=now,
        callback_at=callback_at if callback else None,
    )
    if not plan.retry or plan.at is None:
        if outcome == "technical_failure":
            return NextStep(action="ask_owner", reason="technical failures on every attempt")
        return NextStep(action="done", reason=plan.reason)
    at = first_opening(zones, window, plan.at)
    if at is None:
        return NextStep(action="ask_owner", reason="no calling window left for another call")
    reason = plan.reason + (" (moved into the calling window)" if at > plan.at else "")
    return NextStep(action="call_back_at" if callback else "retry_at", at=at, reason=reason)


def review_reasons(
    *,
    outcome: Outcome,
    confidence: float,
    threshold: float,
    next_step: NextStep,
    goal_achieved: bool,
    facts: Sequence[Fact],
    owner_question: str | None = None,
) -> list[str]:
    """Why the owner must look at this analysis (empty: nothing to ask)."""
    reasons = []
    if confidence < threshold:
        reasons.append(f"low confidence ({confidence:.2f} < {threshold:.2f})")
    if next_step.action == "ask_owner":
        reasons.append(owner_question or next_step.reason or "the analyzer asks for a decision")
    if (outcome == "achieved") != goal_achieved:
        reasons.append(f"outcome {outcome!r} disagrees with goal achieved = {goal_achieved}")
    unsupported = [f.name for f in facts if not f.supported]
    if goal_achieved and unsupported:
        reasons.append(
            "goal marked achieved, but the quotes for these facts are not in the transcript: "
            + ", ".join(unsupported)
        )
    return reasons
