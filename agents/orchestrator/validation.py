"""The orchestrator's checks on a plan: pure rules over a validated `CampaignPlan`.

E.164 is checked when the plan is parsed (`agents.schemas`); here each target is checked for
the Do-Not-Call list (looked up by the caller and passed in) and for calling-window
feasibility, and gets the time of its first call.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from agents.calling_window import describe_window, first_opening
from agents.schemas import CampaignPlan, Target
from core.rules.calling_window import SEARCH_DAYS, Window


class TargetReview(BaseModel):
    """One target after the checks; `issues` empty means it may be called."""

    index: int
    name: str
    phone: str
    time_zones: list[str]
    first_call_at: dt.datetime | None = None
    issues: list[str] = Field(default_factory=list)

    @property
    def callable(self) -> bool:
        return not self.issues


class PlanReview(BaseModel):
    targets: list[TargetReview]

    @property
    def callable_targets(self) -> list[TargetReview]:
        return [t for t in self.targets if t.callable]

    @property
    def issues(self) -> list[str]:
        return [issue for t in self.targets for issue in t.issues]


def review_target(
    index: int, target: Target, *, on_dnc: bool, window: Window | None, now: dt.datetime
) -> TargetReview:
    """Check one target; the issues name the number so the owner can tell which one."""
    issues: list[str] = []
    label = f"{target.name} ({target.phone})"
    if on_dnc:
        issues.append(f"{label} is on the Do-Not-Call list")
    first: dt.datetime | None = None
    if not target.time_zones:
        issues.append(
            f"{label}: its time zone is unknown; add it to the target so calls stay inside "
            "the calling window"
        )
    else:
        first = first_opening(target.time_zones, window, now)
        if first is None:
            issues.append(
                f"{label}: no time in its time zone(s) {', '.join(target.time_zones)} is inside "
                f"the calling window {describe_window(window)} in the next {SEARCH_DAYS} days"
            )
    return TargetReview(
        index=index,
        name=target.name,
        phone=target.phone,
        time_zones=list(target.time_zones),
        first_call_at=first,
        issues=issues,
    )


def review_plan(
    plan: CampaignPlan, *, dnc: set[str], window: Window | None, now: dt.datetime
) -> PlanReview:
    """Every target checked; `dnc` holds the numbers the Do-Not-Call lookup blocked."""
    return PlanReview(
        targets=[
            review_target(i, t, on_dnc=t.phone in dnc, window=window, now=now)
            for i, t in enumerate(plan.targets)
        ]
    )
