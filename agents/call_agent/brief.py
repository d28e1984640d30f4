"""What the voice agent is told for one call: instructions, greeting, voicemail message."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROMPTS = Path(__file__).resolve().parent / "prompts"
PROMPT_VERSION = "v1"


@cache
def _template(name: str, version: str = PROMPT_VERSION) -> str:
    return (PROMPTS / f"{name}.{version}.md").read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class CallBrief:
    """Everything the bridge needs to know about the call it is carrying."""

    user_id: int
    call_id: int
    task_id: int
    call_uuid: str
    owner: str
    target_name: str
    objective: str
    instructions: str
    disclosure: str
    voicemail_message: str | None
    amd_status: str | None = None


def render_instructions(brief: CallBrief) -> str:
    return _template("instructions").format(
        owner=brief.owner,
        target_name=brief.target_name,
        objective=brief.objective or "(see the instructions)",
        instructions=brief.instructions or "(none)",
    )


def render_greeting(brief: CallBrief) -> str:
    return _template("greeting").format(disclosure=brief.disclosure)


def render_voicemail(brief: CallBrief) -> str | None:
    if not brief.voicemail_message:
        return None
    return _template("voicemail").format(message=brief.voicemail_message)
