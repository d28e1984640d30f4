"""A campaign plan as the user reads it: built from the plan data the graphs produce.

The orchestrator's typed `CampaignPlan` lives with the agents; the UI only needs its readable
parts, so this view accepts a plain mapping and keeps the original for the round trip.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


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


def _text(data: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = data.get(key)
        if value is not None and str(value).strip():
            return str(value).strip()
    return ""


def _target(item: Any) -> PlanTarget | None:
    if isinstance(item, Mapping):
        name = _text(item, "name", "target_name", "business", "label")
        phone = _text(item, "phone_e164", "phone", "number", "phone_number")
        notes = _text(item, "notes", "instructions", "reason", "address")
        if name or phone:
            return PlanTarget(name=name or phone, phone=phone, notes=notes)
    elif isinstance(item, str) and item.strip():
        return PlanTarget(name=item.strip(), phone="")
    return None


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _window(data: Mapping[str, Any], constraints: Mapping[str, Any]) -> str:
    text = _text(data, "calling_window")
    if text:
        return text
    start = _text(data, "window_start") or _text(constraints, "earliest")
    end = _text(data, "window_end") or _text(constraints, "latest")
    if start and end:
        return f"{start[:5]}–{end[:5]}"
    if start or end:
        return f"from {start[:5]}" if start else f"until {end[:5]}"
    return ""


def _days(constraints: Mapping[str, Any]) -> str:
    days = [str(d).lower()[:3] for d in constraints.get("days") or ()]
    return ", ".join(d.capitalize() for d in _DAYS if d in days)


def _texts(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(v).strip() for v in value if str(v).strip())


def _review_issues(data: Mapping[str, Any]) -> tuple[str, ...]:
    review = data.get("review")
    targets = review.get("targets") if isinstance(review, Mapping) else None
    issues: list[str] = []
    for target in targets or ():
        if isinstance(target, Mapping):
            issues.extend(_texts(target.get("issues")))
    return tuple(issues)


def plan_view(data: Mapping[str, Any] | None) -> PlanView | None:
    """The readable plan inside `data` (a plan, or a payload holding one under `plan`)."""
    if not data:
        return None
    inner = data.get("plan")
    plan: Mapping[str, Any] = inner if isinstance(inner, Mapping) else data
    targets = tuple(
        t for t in (_target(item) for item in plan.get("targets") or ()) if t is not None
    )
    name = _text(plan, "name", "title", "campaign_name")
    objective = _text(plan, "objective", "goal", "description")
    if not (name or objective or targets):
        return None
    attempts = plan.get("max_attempts")
    stop_rule = _text(plan, "stop_rule")
    raw_constraints = plan.get("constraints")
    constraints: Mapping[str, Any] = raw_constraints if isinstance(raw_constraints, Mapping) else {}
    warnings = _texts(plan.get("warnings")) + _texts(data.get("warnings")) + _review_issues(data)
    return PlanView(
        name=name or "Untitled campaign",
        objective=objective,
        targets=targets,
        calling_window=_window(plan, constraints),
        days=_days(constraints),
        stop_rule=_STOP_RULES.get(stop_rule, stop_rule.replace("_", " ")),
        max_attempts=attempts if isinstance(attempts, int) else None,
        instructions=_text(plan, "instructions", "call_instructions", "script"),
        limits=_texts(constraints.get("notes")),
        questions=_texts(plan.get("questions")),
        success=_texts(plan.get("success_criteria")),
        voicemail=_text(plan, "voicemail_message"),
        warnings=tuple(dict.fromkeys(warnings)),
        raw=dict(plan),
    )
