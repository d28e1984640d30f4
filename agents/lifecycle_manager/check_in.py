"""Read the owner's answer to a check-in ("'Dentists' has run two days. Keep going?").

Pure rules, no model. The card's buttons answer `{"decision": keep_going | pause | stop}`;
free text that is one of those commands in plain words ("yes", "keep going", "pause for now",
"stop", "no") is read as that command; any other text changes the instructions of the
campaign's next calls (it is appended to them). An agent-inbox `accept` keeps going.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

CheckInAction = Literal["keep_going", "pause", "stop", "instructions"]
COMMANDS: tuple[CheckInAction, ...] = ("keep_going", "pause", "stop")


@dataclass(frozen=True, slots=True)
class CheckInReply:
    action: CheckInAction
    text: str = ""  # the new instructions, for `instructions`


_POLITE = r"(?:(?:ok|okay|yes|no|sure|please)[ ,]+)*"
_TAIL = r"(?:[ ,]+(?:please|thanks|thank you|for now|now))*"
_KEEP = re.compile(
    _POLITE + r"(?:yes|yep|ok|okay|sure|fine|go ahead|proceed|keep going|keep calling|"
    r"continue|go on|carry on|keep it going|keep at it)" + _TAIL
)
_PAUSE = re.compile(
    _POLITE + r"(?:pause|pause it|pause the campaign|pause the calls|hold|hold on|hold off|"
    r"wait|not now|take a break|put it on hold)" + _TAIL
)
_STOP = re.compile(
    _POLITE + r"(?:no|nope|stop|stop it|stop the campaign|stop calling|stop the calls|cancel|"
    r"cancel it|cancel the campaign|end it|end the campaign|enough|that'?s enough|give up)" + _TAIL
)

# Stop before keep: "no, stop" must not read as a polite "yes".
_READ: tuple[tuple[CheckInAction, re.Pattern[str]], ...] = (
    ("stop", _STOP),
    ("pause", _PAUSE),
    ("keep_going", _KEEP),
)


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w',]+", " ", text.casefold().replace("\u2019", "'")).split())


def read_check_in(answer: Mapping[str, Any]) -> CheckInReply | None:
    """The owner's decision, or None when the answer says nothing (an empty text)."""
    decision = answer.get("decision")
    for command in COMMANDS:
        if decision == command:
            return CheckInReply(command)
    kind = answer.get("type")
    if kind in ("accept", "ignore"):
        return CheckInReply("keep_going")
    text = answer.get("text") if kind is None else answer.get("args")
    if not isinstance(text, str) or not text.strip():
        return None
    words = _words(text).strip(" ,")
    for action, pattern in _READ:
        if pattern.fullmatch(words):
            return CheckInReply(action)
    return CheckInReply("instructions", text.strip())
