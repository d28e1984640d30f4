"""A campaign plan as the user reads it: built from a stored plan (`core.domain.StoredPlan`).

The orchestrator's typed `CampaignPlan` lives with the agents; the UI only needs its readable
parts, so this view reads a plan leniently and keeps the original for the round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.domain import WEEKDAYS, StoredPlan, read_texts


@dataclass(frozen=True, slots=True)
class PlanTarget:
    name: str
    phone: str
    notes: str = ""


@dataclass(frozen=True, slots=True)
class PlanView:
    name: str
    objective: str
    targets: tuple[PlanTarget, ...] = ()
    calling_window: str = ""
    days: str = ""
    stop_rule: str = ""
    max_attempts: int | None = None
    instructions: str = ""
    limits: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    success: tuple[str, ...] = ()
    voicemail: str = ""
    warnings: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


_STOP_RULES = {
    "first_success": "stop when one call succeeds",
    "call_everyone": "call every target",
}


def _window(plan: StoredPlan) -> str:
    if plan.calling_window:
        return plan.calling_window
    limits = plan.constraints
    start = plan.window_start[:5] or (
        f"{limits.earliest:%H:%M}" if limits and limits.earliest else ""
    )
    end = plan.window_end[:5] or (f"{limits.latest:%H:%M}" if limits and limits.latest else "")
    if start and end:
        return f"{start}–{end}"
    if start or end:
        return f"from {start}" if start else f"until {end}"
    return ""


def plan_view(
    plan: Mapping[str, Any] | StoredPlan | None, *, warnings: Iterable[str] = ()
) -> PlanView | None:
    """The readable parts of `plan` (stored, or as the assistant produced it) and `warnings`
    about it; None when it names nothing. `raw` keeps the plan as given."""
    if not plan:
        return None
    read = plan if isinstance(plan, StoredPlan) else StoredPlan.read(plan)
    if not (read.name or read.objective or read.targets):
        return None
    limits = read.constraints
    return PlanView(
        name=read.name or "Untitled campaign",
        objective=read.objective,
        targets=tuple(PlanTarget(t.name or t.phone, t.phone, t.notes) for t in read.targets),
        calling_window=_window(read),
        days=", ".join(d.capitalize() for d in WEEKDAYS if limits and d in limits.days),
        stop_rule=_STOP_RULES.get(read.stop_rule, read.stop_rule.replace("_", " ")),
        max_attempts=read.max_attempts,
        instructions=read.instructions,
        limits=tuple(read_texts(limits.notes)) if limits else (),
        questions=tuple(read.questions),
        success=tuple(read.success_criteria),
        voicemail=read.voicemail_message,
        warnings=tuple(dict.fromkeys([*read.warnings, *warnings])),
        raw=read.to_json() if isinstance(plan, StoredPlan) else dict(plan),
    )
