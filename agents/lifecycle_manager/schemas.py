"""The lifecycle manager's vocabulary: what it observes, what it finds, what it may do."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from agents.schemas import Constraints

ActionKind = Literal[
    "reschedule",
    "hold",
    "fail",
    "review",
    "cancel_siblings",
    "check_in",
    "complete_campaign",
    "none",
]
FindingKind = Literal[
    "stuck",
    "analysis_stalled",
    "exhausted",
    "failing",
    "callback_due",
    "stop_rule_met",
    "campaign_done",
    "check_in",
]


class TaskView(BaseModel):
    id: int
    campaign_id: int
    target_name: str
    phone: str
    status: str
    due_at: dt.datetime
    attempts: int
    max_attempts: int
    lease_expires_at: dt.datetime | None = None
    created_at: dt.datetime
    updated_at: dt.datetime | None = None
    time_zones: list[str] = Field(default_factory=list)
    last_outcome: str | None = None
    live_call: bool = False
    last_call_id: int | None = None
    goal_achieved: bool = False
    latest_outcome: str | None = None
    latest_next_step: str | None = None
    analysis_summary: str | None = None
    facts: dict[str, str] = Field(default_factory=dict)


class CampaignView(BaseModel):
    id: int
    name: str
    objective: str
    status: str
    stop_rule: str
    created_at: dt.datetime
    updated_at: dt.datetime
    constraints: Constraints | None = None
    pending_check_in: bool = False
    last_check_in_at: dt.datetime | None = None  # when the owner was last asked to check in


class Observation(BaseModel):
    now: dt.datetime
    legal_start: dt.time
    legal_end: dt.time
    check_in_after: dt.timedelta
    campaigns: list[CampaignView] = Field(default_factory=list)
    tasks: list[TaskView] = Field(default_factory=list)

    def tasks_of(self, campaign_id: int) -> list[TaskView]:
        return [t for t in self.tasks if t.campaign_id == campaign_id]

    def task(self, task_id: int | None) -> TaskView | None:
        return next((t for t in self.tasks if t.id == task_id), None)


class Action(BaseModel):
    finding_id: str
    kind: ActionKind
    campaign_id: int
    task_id: int | None = None
    due_at: dt.datetime | None = None
    reason: str = ""
    source: Literal["rule", "model"] = "rule"


class Finding(BaseModel):
    id: str
    kind: FindingKind
    campaign_id: int
    task_id: int | None = None
    detail: str
    allowed: list[ActionKind]
    default: Action


# --- what the model answers ------------------------------------------------------------------


class Choice(BaseModel):
    """Your decision for one finding."""

    finding_id: str = Field(description="The id of the finding this decides.")
    action: ActionKind = Field(description="One of the finding's allowed actions.")
    due_at: dt.datetime | None = Field(
        None, description="For reschedule: when, as an ISO-8601 time with its UTC offset."
    )
    reason: str = Field("", description="Why, in one sentence for the owner.")


class CampaignSummary(BaseModel):
    """A summary for the owner of a campaign that has ended."""

    campaign_id: int
    summary: str = Field(description="What was achieved, per target, in a few sentences.")


class LifecycleDecision(BaseModel):
    """Your decisions for the findings, and summaries of the campaigns that ended."""

    choices: list[Choice] = Field(default_factory=list)
    summaries: list[CampaignSummary] = Field(default_factory=list)
