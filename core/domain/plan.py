"""`campaigns.plan`: the plan a campaign was made from, and its calling limits.

The agents write it (`agents.schemas.CampaignPlan` as JSON); the scheduler's pre-dial gate, the
graphs and the owner's views read it back as a `StoredPlan`, which never fails: a key that does
not fit reads as missing, so an old or odd row still shows what it can. `Constraints` is both
sides' — the model fills it in, the gate reads its week days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field, field_validator, model_validator

from core.domain.records import Record, read_items, read_record, read_texts

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Constraints(BaseModel):
    """When and how the calls may be made (callee-local times)."""

    days: list[Weekday] = Field(
        default_factory=list, description="Days on which to call; empty: any day."
    )
    earliest: dt.time | None = Field(None, description="Earliest callee-local time to call.")
    latest: dt.time | None = Field(None, description="Latest callee-local time to call.")
    max_call_minutes: int = Field(5, ge=1, le=60, description="Longest a single call may last.")
    notes: list[str] = Field(
        default_factory=list,
        description="Other limits the calling agent must respect (e.g. 'mornings only').",
    )

    @model_validator(mode="before")
    @classmethod
    def _days_from_weekdays(cls, data: Any) -> Any:
        # Stored plans also carry `weekdays` (0 = Monday), the form the pre-dial gate reads.
        if isinstance(data, dict) and not data.get("days") and data.get("weekdays"):
            numbers = data["weekdays"]
            if not isinstance(numbers, list) or not all(
                isinstance(d, int) and 0 <= d < len(WEEKDAYS) for d in numbers
            ):
                raise ValueError(f"weekdays are numbers 0-6 (Monday = 0), not {numbers!r}")
            data = {**data, "days": [WEEKDAYS[d] for d in numbers]}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def weekdays(self) -> list[int]:
        """The days as numbers, Monday = 0 (what the scheduler's pre-dial gate reads)."""
        return sorted({WEEKDAYS.index(d) for d in self.days})

    @model_validator(mode="after")
    def _ordered(self) -> Constraints:
        if self.earliest and self.latest and self.earliest >= self.latest:
            raise ValueError(f"earliest ({self.earliest}) must be before latest ({self.latest})")
        return self


def _first(data: Mapping[str, Any], *keys: str) -> str:
    """The first of `keys` that holds more than blanks, as stripped text ("" if none does)."""
    for key in keys:
        value = data.get(key)
        if value is not None and str(value).strip():
            return str(value).strip()
    return ""


class StoredTarget(Record):
    """One target of a stored plan; a bare name reads as a target without a number."""

    name: str = ""
    phone: str = ""
    notes: str = ""

    @model_validator(mode="before")
    @classmethod
    def _spellings(cls, data: Any) -> Any:
        # Plans written before `CampaignPlan` spelt these in several ways; all are read.
        if isinstance(data, str):
            return {"name": data.strip()}
        if not isinstance(data, Mapping):
            return data
        return {
            "name": _first(data, "name", "target_name", "business", "label"),
            "phone": _first(data, "phone_e164", "phone", "number", "phone_number"),
            "notes": _first(data, "notes", "instructions", "reason", "address"),
        }


# The plan's texts and the older spellings of each, first found first.
_SPELLINGS = {
    "name": ("name", "title", "campaign_name"),
    "objective": ("objective", "goal", "description"),
    "instructions": ("instructions", "call_instructions", "script"),
    "stop_rule": ("stop_rule",),
    "voicemail_message": ("voicemail_message",),
    "calling_window": ("calling_window",),
    "window_start": ("window_start",),
    "window_end": ("window_end",),
}


class StoredPlan(Record):
    """A stored plan read back: `campaigns.plan`, or the plan a plan approval shows."""

    name: str = ""
    objective: str = ""
    targets: list[StoredTarget] = Field(default_factory=list)  # those naming someone
    constraints: Constraints | None = None  # None: the plan sets no limits of its own
    questions: list[str] = Field(default_factory=list)
    success_criteria: list[str] = Field(default_factory=list)
    stop_rule: str = ""
    max_attempts: int | None = None
    voicemail_message: str = ""
    warnings: list[str] = Field(default_factory=list)
    # Older plans' own hours and instructions, shown as they were written.
    instructions: str = ""
    calling_window: str = ""
    window_start: str = ""
    window_end: str = ""

    @model_validator(mode="before")
    @classmethod
    def _spellings(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        return {**data, **{field: _first(data, *keys) for field, keys in _SPELLINGS.items()}}

    @field_validator("targets", mode="before")
    @classmethod
    def _targets(cls, raw: Any) -> list[StoredTarget]:
        return [t for t in read_items(StoredTarget, raw) if t.name or t.phone]

    @field_validator("constraints", mode="before")
    @classmethod
    def _limits(cls, raw: Any) -> Any:
        return raw or None

    @field_validator("questions", "success_criteria", "warnings", mode="before")
    @classmethod
    def _texts(cls, raw: Any) -> list[str]:
        return read_texts(raw)

    @classmethod
    def read(cls, raw: Any) -> StoredPlan:
        """The plan in `raw`; an empty plan when there is none."""
        return read_record(cls, raw)
