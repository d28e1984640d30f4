"""The conversation of one call without I/O: `Conversation.handle(input, now_ms)` → commands.

`inputs` names what it is told, `commands` what it asks for, `phases` its phases and the moves
between them; `media.bridge` drives it over AudioSocket and the Realtime connection.
"""

from media.conversation.commands import Command, Timer, ToolRequest
from media.conversation.inputs import Input
from media.conversation.machine import Conversation, ConversationCounts, ConversationResult, Timing
from media.conversation.phases import TRANSITIONS, IllegalTransition, Phase

__all__ = [
    "TRANSITIONS",
    "Command",
    "Conversation",
    "ConversationCounts",
    "ConversationResult",
    "IllegalTransition",
    "Input",
    "Phase",
    "Timer",
    "Timing",
    "ToolRequest",
]
