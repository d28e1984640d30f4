"""The UI assistant: turns a chat into a `CampaignPlan` (prompts, tools, rehearsal script)."""

from agents.ui_assistant.tools import TOOLS, LookupBusiness, SearchInternet, run_tool

__all__ = ["TOOLS", "LookupBusiness", "SearchInternet", "run_tool"]
