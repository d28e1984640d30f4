"""A call's script for the media bridge: what the voice agent is told, and its tools.

The composition root hands `call_script` to `media.bridge_registry.BridgeRegistry`; media calls
it with each call's brief and never imports this package.
"""

from __future__ import annotations

from agents.call_agent.brief import (
    AGENT,
    PROMPT_VERSION,
    render_greeting,
    render_hold,
    render_instructions,
    render_note_intro,
    render_voicemail,
)
from agents.call_agent.tools import CALL_TOOLS
from agents.prompts import render_prompt
from media.call_script import CallBrief, CallScript


def call_script(brief: CallBrief) -> CallScript:
    """The script of the call `brief` describes."""
    return CallScript(
        instructions=render_instructions(brief),
        greeting=render_greeting(brief),
        voicemail=render_voicemail(brief),
        tools=CALL_TOOLS,
        resume=render_prompt(AGENT, "resume", PROMPT_VERSION),
        history_intro=render_prompt(AGENT, "history", PROMPT_VERSION).strip(),
        hold=render_hold(brief),
        hold_limit=render_prompt(AGENT, "hold_limit", PROMPT_VERSION),
        note_intro=render_note_intro(brief),
        turn_taking=brief.turn_taking,
        hold_limit_s=brief.hold_limit_s,
        owner_phone=brief.owner_phone,
        connecting=render_prompt(AGENT, "connecting", PROMPT_VERSION, owner=brief.owner),
        owner_brief=render_prompt(
            AGENT, "owner_brief", PROMPT_VERSION, owner=brief.owner, target=brief.target_name
        ),
        owner_unavailable=render_prompt(
            AGENT, "owner_unavailable", PROMPT_VERSION, owner=brief.owner
        ),
    )
