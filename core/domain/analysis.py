"""The analysis of one call as stored in `calls.analysis` (and shown in a review's payload).

The post-call analyzer writes it (`CallAnalysis`, checked); the owner's views read it back as
`StoredAnalysis`, which adds whether the analysis is final.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from core.domain.vocabulary import DIALLING_ACTIONS, NextAction

Outcome = Literal[
    "achieved",
    "partial",
    "voicemail",
    "wrong_number",
    "callback_requested",
    "refused",
    "opt_out",
    "no_answer",
    "busy",
    "technical_failure",
]
OUTCOMES: tuple[Outcome, ...] = (
    "achieved",
    "partial",
    "voicemail",
    "wrong_number",
    "callback_requested",
    "refused",
    "opt_out",
    "no_answer",
    "busy",
    "technical_failure",
)


class Fact(BaseModel):
    """Something learnt on the call, with the words that support it."""

    name: str = Field(min_length=1, description="What the fact is about, e.g. 'appointment'.")
    value: str = Field(description="The fact, e.g. 'Tuesday 9:30 with Dr. Lee'.")
    quote: str = Field(description="The transcript words that support it, verbatim.")
    supported: bool = Field(
        True, description="Set by the quote check: False when the quote is not in the transcript."
    )


class NextStep(BaseModel):
    """What should happen to the task after this call."""

    action: NextAction
    at: dt.datetime | None = Field(None, description="When, for retry_at and call_back_at.")
    reason: str = ""

    @model_validator(mode="after")
    def _needs_time(self) -> NextStep:
        if self.action in DIALLING_ACTIONS:
            if self.at is None:
                raise ValueError(f"next step {self.action} needs a time")
            if self.at.tzinfo is None:
                raise ValueError(f"next step time {self.at.isoformat()} has no time zone")
        return self


class CallAnalysis(BaseModel):
    """The checked analysis of one call, as stored on the call."""

    outcome: Outcome
    goal_achieved: bool
    summary: str = ""
    facts: list[Fact] = Field(default_factory=list)
    callback_phrase: str | None = Field(None, description="The callee's words asking for a call.")
    callback_at: dt.datetime | None = Field(
        None, description="When the callee asked to be called, aware, in the callee's zone."
    )
    next_step: NextStep
    confidence: float = Field(ge=0.0, le=1.0)
    review_reasons: list[str] = Field(default_factory=list)
    reviewed_by_owner: bool = False
    owner_note: str | None = None
    rehearsal: bool = Field(False, description="True when a scripted rehearsal model wrote it.")

    def confirmed_facts(self) -> dict[str, str]:
        """Facts whose quote was found in the transcript (unsupported ones are never true)."""
        return {f.name: f.value for f in self.facts if f.supported}


class StoredAnalysis(CallAnalysis):
    """`calls.analysis`: the analysis and whether it is final (no review pending)."""

    final: bool = False

    @classmethod
    def read(cls, raw: Any) -> StoredAnalysis | None:
        """The stored analysis; None for a call not analysed (`{}`) or a row that is not one."""
        if not isinstance(raw, dict) or not raw:
            return None
        try:
            return cls.model_validate(raw)
        except ValidationError:
            return None
