"""Typed outputs shared by the agents: the campaign plan and the analysis of one call.

`CampaignPlan` is what the UI assistant produces and the orchestrator validates; its calling
limits (`Constraints`) are defined in `core.domain` beside `StoredPlan`, the plan as a campaign
keeps it, because the scheduler reads them too. `CallAnalysis` (defined with the other stored
shapes in `core.domain`, named here for the agents) is what the post-call analyzer stores on
the call. Both are pydantic models so a model's structured output, an owner's edit in the
Approvals tab and a plan typed in Studio all pass the same checks. Phone numbers are validated
with `core.phone` and errors name the number.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from core.domain import (
    HOLD_LIMIT_S,
    MAX_HOLD_LIMIT_S,
    MIN_HOLD_LIMIT_S,
    OUTCOMES,
    WEEKDAYS,
    CallAnalysis,
    Constraints,
    Fact,
    NextAction,
    NextStep,
    Outcome,
    StopRule,
    TurnTaking,
    Weekday,
)
from core.phone import InvalidPhoneNumber, normalize, time_zones

__all__ = [
    "OUTCOMES",
    "WEEKDAYS",
    "CallAnalysis",
    "CampaignPlan",
    "Constraints",
    "Fact",
    "NextAction",
    "NextStep",
    "Outcome",
    "Target",
    "Weekday",
    "parse_plan",
    "validation_problems",
]


def _check_zone(zone: str) -> str:
    try:
        ZoneInfo(zone)
    except (KeyError, ValueError):
        raise ValueError(f"{zone!r} is not an IANA time zone (e.g. 'America/New_York')") from None
    return zone


class Target(BaseModel):
    """One party to call."""

    name: str = Field(min_length=1, max_length=200, description="Who this is (business or person).")
    phone: str = Field(
        description="Phone number; stored in E.164 form (+12125550101). Numbers without + are "
        "read in the default region."
    )
    time_zones: list[str] = Field(
        default_factory=list,
        description="IANA time zone(s) the callee may be in; empty: derived from the number.",
    )
    notes: str = Field("", max_length=1000, description="Anything specific to this target.")

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str, info: ValidationInfo) -> str:
        region = "US"
        if isinstance(info.context, dict):
            region = str(info.context.get("default_region") or region)
        try:
            return normalize(value, region)
        except InvalidPhoneNumber as exc:
            raise ValueError(str(exc)) from None

    @field_validator("time_zones")
    @classmethod
    def _zones(cls, value: list[str]) -> list[str]:
        return [_check_zone(z) for z in value]

    @model_validator(mode="after")
    def _derive_zones(self) -> Target:
        if not self.time_zones:
            self.time_zones = list(time_zones(self.phone))
        return self


class CampaignPlan(BaseModel):
    """What the owner wants done by phone: whom to call, why, and within which limits."""

    name: str = Field(min_length=1, max_length=200, description="Short title of the campaign.")
    objective: str = Field(min_length=1, description="What the calls must achieve.")
    targets: list[Target] = Field(min_length=1, max_length=100, description="Whom to call.")
    constraints: Constraints = Field(default_factory=Constraints)
    questions: list[str] = Field(
        default_factory=list, description="Questions the agent must ask on every call."
    )
    disclosure: list[str] = Field(
        default_factory=list,
        description="What the agent may tell the callee about the owner (name, callback "
        "number, …); anything else stays private.",
    )
    success_criteria: list[str] = Field(
        default_factory=list, description="How to tell that a call achieved the objective."
    )
    stop_rule: StopRule = Field(
        StopRule.CALL_EVERYONE,
        description="first_success: stop calling the others once one call achieves the "
        "objective; call_everyone: call every target.",
    )
    voicemail_message: str | None = Field(
        None, description="Message to leave on voicemail; none: hang up on voicemail."
    )
    max_attempts: int = Field(3, ge=1, le=10, description="Attempts per target at most.")
    turn_taking: TurnTaking = Field(
        default_factory=TurnTaking,
        description="How the voice agent takes turns; leave the defaults (made for phone "
        "calls) unless the owner asks otherwise.",
    )
    hold_limit_s: int = Field(
        HOLD_LIMIT_S,
        ge=MIN_HOLD_LIMIT_S,
        le=MAX_HOLD_LIMIT_S,
        description="How long, in seconds and in all, the agent waits on hold (hold music, a "
        "queue, a call screener connecting) before it ends the call politely.",
    )
    caller_id: str | None = Field(
        None,
        description="The number the callees see (E.164), only when the owner asks for one of "
        "their own; none: the owner's usual caller ID.",
    )

    @model_validator(mode="after")
    def _unique_numbers(self) -> CampaignPlan:
        seen: set[str] = set()
        for target in self.targets:
            if target.phone in seen:
                raise ValueError(f"the number {target.phone} is listed twice")
            seen.add(target.phone)
        return self


def validation_problems(exc: ValidationError) -> list[str]:
    """One line per problem, naming where it is and (for numbers) the number itself."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        lines.append(f"{loc}: {msg}" if loc else msg)
    return lines


def parse_plan(data: Any, *, default_region: str = "US") -> CampaignPlan:
    """Validate a plan from JSON/dict/model; raises `ValidationError`."""
    if isinstance(data, CampaignPlan):
        data = data.model_dump(mode="json")
    return CampaignPlan.model_validate(data, context={"default_region": default_region})
