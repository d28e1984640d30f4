"""`feedback_requests.payload`: what an owner's item shows, and what the graphs keep on it.

Each kind writes a few keys: a plan approval the plan and its review, an analysis review the
analysis, a live question the call, a check-in the campaign's progress; the graphs add their
idempotency key, and the item's end (`closed_reason`, `applied`). Reading never fails: a key
that does not fit reads as missing. Keys no field names are kept (shown as details).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from core.domain.analysis import StoredAnalysis
from core.domain.plan import StoredPlan
from core.domain.records import Record, read_items, read_record, read_texts


class HitlMark(Record):
    """The key of the graph node that wrote the item (its write is made once per key)."""

    key: str | None = None


class ReviewedTarget(Record):
    """One target as the orchestrator's review of the plan saw it."""

    issues: list[str] = Field(default_factory=list)

    @field_validator("issues", mode="before")
    @classmethod
    def _issues(cls, raw: Any) -> list[str]:
        return read_texts(raw)


class PlanCheck(Record):
    """The orchestrator's review of a plan, as far as the owner is shown it."""

    targets: list[ReviewedTarget] = Field(default_factory=list)

    @field_validator("targets", mode="before")
    @classmethod
    def _targets(cls, raw: Any) -> list[ReviewedTarget]:
        return read_items(ReviewedTarget, raw)


class FeedbackPayload(Record):
    """`feedback_requests.payload` read back."""

    model_config = ConfigDict(frozen=True, extra="allow")

    # A plan approval (the orchestrator).
    plan: StoredPlan | None = None
    review: PlanCheck | None = None
    warnings: list[str] = Field(default_factory=list)
    # An analysis review (the post-call analyzer, or a step that asks the owner).
    analysis: StoredAnalysis | None = None
    can_accept: bool = False  # the analysis' own next step could stand
    problem: str | None = None
    note: str | None = None
    # A live question (the call that asks it).
    call_uuid: str | None = None
    target: str | None = None
    context: str | None = None
    # A check-in (the lifecycle manager).
    campaign_id: int | None = None
    ended: int | None = None
    total: int | None = None
    asked_at: dt.datetime | None = None  # by the pass's own clock
    # Any item.
    description: str | None = None
    hitl: HitlMark = Field(default_factory=HitlMark)
    closed_reason: str | None = None
    applied: str | None = None  # what the answer did, once acted on

    @field_validator("plan", mode="before")
    @classmethod
    def _plan(cls, raw: Any) -> StoredPlan | None:
        return StoredPlan.read(raw) if isinstance(raw, Mapping) else None

    @field_validator("analysis", mode="before")
    @classmethod
    def _analysis(cls, raw: Any) -> StoredAnalysis | None:
        return StoredAnalysis.read(raw)

    @field_validator("warnings", mode="before")
    @classmethod
    def _warnings(cls, raw: Any) -> list[str]:
        return read_texts(raw)

    @property
    def review_issues(self) -> list[str]:
        """What the plan's review found wrong with its targets."""
        return [i for t in self.review.targets for i in t.issues] if self.review else []

    @classmethod
    def read(cls, raw: Any) -> FeedbackPayload:
        return read_record(cls, raw)
