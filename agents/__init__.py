"""What each AI agent is: prompts, tools, output schemas, and the one model factory."""

from agents.models import ModelNotConfigured, Purpose, load_chat_model
from agents.rehearsal import REHEARSAL_SCRIPT
from agents.schemas import CallAnalysis, CampaignPlan, Constraints, Fact, NextStep, Target
from agents.scripted import ScriptedChatModel, is_rehearsal, register_script

__all__ = [
    "REHEARSAL_SCRIPT",
    "CallAnalysis",
    "CampaignPlan",
    "Constraints",
    "Fact",
    "ModelNotConfigured",
    "NextStep",
    "Purpose",
    "ScriptedChatModel",
    "Target",
    "is_rehearsal",
    "load_chat_model",
    "register_script",
]
