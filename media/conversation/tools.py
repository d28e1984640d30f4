"""The model's tool calls read into requests, or refused at once with what was wrong.

Nothing is done on a guess: malformed arguments, a key sequence no keypad has, or an unknown tool
are answered with an error the model can act on, and it may call again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from media.conversation.commands import AskOwner, PressKeys, RecordFact, ToolRequest
from media.realtime_events import FunctionCall

DTMF_DIGITS: Final = re.compile(r"^(?=.*[0-9*#A-D])[0-9*#A-Dw]{1,32}$")  # w: a half-second pause
NO_QUESTION: Final = "The agent needs your decision."


@dataclass(frozen=True, slots=True)
class EndCall:
    """The agent ends the call once its goodbye has played."""

    reason: str


@dataclass(frozen=True, slots=True)
class WaitOnHold:
    """The callee put the agent on hold (hold music, a queue, a screener connecting): it waits
    in silence until a person speaks to it."""


@dataclass(frozen=True, slots=True)
class TransferToOwner:
    """The agent hands the callee over to the owner (it has told them it is connecting)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Refused:
    """Answered at once with `{"error": error}`; nothing was done."""

    error: str


def read_tool_call(
    call: FunctionCall,
) -> ToolRequest | EndCall | WaitOnHold | TransferToOwner | Refused:
    """What the model asked for with `call`."""
    try:
        args = call.parsed_arguments()
    except ValueError as exc:
        return Refused(f"{exc}. Nothing was done; call it again with valid arguments.")
    if call.name == "end_call":
        return EndCall(str(args.get("reason") or "the agent ended the call"))
    if call.name == "wait_on_hold":
        return WaitOnHold()
    if call.name == "transfer_to_owner":
        return TransferToOwner(str(args.get("reason") or "the callee asked for a person"))
    if call.name == "send_dtmf":
        digits = str(args.get("digits", ""))
        if not DTMF_DIGITS.match(digits):
            return Refused(
                f"{digits!r} is not a keypad sequence (0-9, *, #, A-D; w pauses half a second)"
            )
        return PressKeys(digits)
    if call.name == "request_user_feedback":
        return AskOwner(str(args.get("question", "")).strip() or NO_QUESTION)
    if call.name == "record_fact":
        return RecordFact(
            name=str(args.get("name") or args.get("key") or "fact"),
            value=str(args.get("value", "")),
            quote=str(args.get("quote", "")),
        )
    return Refused(f"unknown tool {call.name!r}")
