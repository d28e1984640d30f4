"""What the voice agent is told for one call: instructions, greeting, on hold, voicemail
message."""

from __future__ import annotations

from agents.prompts import render_prompt
from media.call_script import CallBrief

AGENT = "call_agent"
PROMPT_VERSION = "v1"


def render_instructions(brief: CallBrief) -> str:
    return render_prompt(
        AGENT,
        "instructions",
        PROMPT_VERSION,
        owner=brief.owner,
        target_name=brief.target_name,
        objective=brief.objective or "(see the instructions)",
        instructions=brief.instructions or "(none)",
    )


def render_greeting(brief: CallBrief) -> str:
    return render_prompt(AGENT, "greeting", PROMPT_VERSION, disclosure=brief.disclosure)


def render_hold(brief: CallBrief) -> str:
    return render_prompt(AGENT, "hold", PROMPT_VERSION, owner=brief.owner)


def render_voicemail(brief: CallBrief) -> str | None:
    if not brief.voicemail_message:
        return None
    return render_prompt(AGENT, "voicemail", PROMPT_VERSION, message=brief.voicemail_message)


def render_note_intro(brief: CallBrief) -> str:
    """What heads a note the owner sends the agent during the call."""
    return render_prompt(AGENT, "note", PROMPT_VERSION, owner=brief.owner).strip()
