"""What the bridge knows of the call it carries, and what its voice agent is told.

Media reads the call's facts from the database (`CallBrief`, by `media.call_store`) but writes
no prompts: the agents layer turns a brief into a `CallScript`, and the composition root hands
that writer to the bridge registry when it builds it. So media never imports `agents`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.domain import HOLD_LIMIT_S, TurnTaking
from media.realtime_events import FunctionTool


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
    turn_taking: TurnTaking = field(default_factory=TurnTaking)  # the campaign's, or defaults
    hold_limit_s: int = HOLD_LIMIT_S  # the campaign's: the longest wait on hold, in all
    owner_phone: str | None = None  # where the owner takes a call over (E.164); None: not set


@dataclass(frozen=True, slots=True)
class CallScript:
    """The words and tools of one call's voice agent."""

    instructions: str  # the session's instructions
    greeting: str  # the first response's instructions when a person answers
    voicemail: str | None  # the message response's instructions at a mailbox; None: hang up
    tools: tuple[FunctionTool, ...]
    resume: str  # the first response's instructions after a dropped line
    history_intro: str  # heads the conversation so far in a resumed session's instructions
    hold: str  # a response's instructions on hold, after each sound on the line
    hold_limit: str  # the goodbye's instructions once the wait on hold reached its limit
    note_intro: str  # heads an owner's note to the agent (the note follows on its own line)
    turn_taking: TurnTaking = field(default_factory=TurnTaking)  # turn detection, interruptions
    hold_limit_s: int = HOLD_LIMIT_S  # how long the agent waits on hold, in all
    # Handing the callee over to the owner: the owner's phone (None: no handover), how long it
    # rings, what the agent tells the callee when the owner asks to be called in, its brief to
    # the owner once they answer, and its words to the callee when the owner does not.
    owner_phone: str | None = None
    owner_ring_s: int = 25
    connecting: str = ""
    owner_brief: str = ""
    owner_unavailable: str = ""

    def resumed_instructions(self, history: str) -> str:
        """The session's instructions after a dropped line, with what was said so far."""
        if not history:
            return self.instructions
        return f"{self.instructions}\n\n{self.history_intro}\n{history}"


ScriptWriter = Callable[[CallBrief], CallScript]
"""Writes a call's script from its brief (the agents layer provides it)."""
