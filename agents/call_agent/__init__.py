"""The voice agent on the phone: its instructions and its in-call tools (Realtime function tools)."""

from agents.call_agent.brief import CallBrief, render_instructions, render_voicemail
from agents.call_agent.tools import CALL_TOOLS, TOOL_NAMES

__all__ = ["CALL_TOOLS", "TOOL_NAMES", "CallBrief", "render_instructions", "render_voicemail"]
