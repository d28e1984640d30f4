"""The voice agent on the phone: its instructions and its in-call tools (Realtime function tools)."""

from agents.call_agent.brief import render_instructions, render_voicemail
from agents.call_agent.script import call_script
from agents.call_agent.tools import CALL_TOOLS, TOOL_NAMES
from media.call_script import CallBrief

__all__ = [
    "CALL_TOOLS",
    "TOOL_NAMES",
    "CallBrief",
    "call_script",
    "render_instructions",
    "render_voicemail",
]
