"""The lifecycle manager (meta-OODA): observations, findings, and the guards on its actions."""

from agents.lifecycle_manager.check_in import CheckInReply, read_check_in
from agents.lifecycle_manager.rules import default_summary, dispose, in_call, orient
from agents.lifecycle_manager.schemas import (
    Action,
    CampaignView,
    Choice,
    Finding,
    LifecycleDecision,
    Observation,
    TaskView,
)

__all__ = [
    "Action",
    "CampaignView",
    "CheckInReply",
    "Choice",
    "Finding",
    "LifecycleDecision",
    "Observation",
    "TaskView",
    "default_summary",
    "dispose",
    "in_call",
    "orient",
    "read_check_in",
]
