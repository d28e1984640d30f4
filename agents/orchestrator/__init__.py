"""The orchestrator: checks a plan and writes each call's instructions from templates."""

from agents.orchestrator.instructions import (
    approval_description,
    call_instructions,
)
from agents.orchestrator.validation import PlanReview, TargetReview, review_plan, review_target

__all__ = [
    "PlanReview",
    "TargetReview",
    "approval_description",
    "call_instructions",
    "review_plan",
    "review_target",
]
