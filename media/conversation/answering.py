"""Who answered, from the first words heard on the line: a phone menu, a call screener, a
queue's "please hold", a mailbox, or none of those."""

from __future__ import annotations

import re
from typing import Final, Literal

MACHINE_WORDS: Final = re.compile(
    r"\b(leave (me )?a message|after the (tone|beep)|voice ?mail|not available|can't come to the phone|"
    r"cannot come to the phone|mailbox)\b",
    re.I,
)
MENU_WORDS: Final = re.compile(
    r"\b(press (\d|one|two|three|four|five|six|seven|eight|nine|zero|star|pound)|"
    r"menu|options have changed|dial the extension)\b",
    re.I,
)

SCREENER_WORDS: Final = re.compile(
    r"\b(screening service|call screening|(say|state|record) your name|"
    r"who('s| is) calling|why you('re| are) calling|reason for (your|the) call)\b",
    re.I,
)
HOLD_WORDS: Final = re.compile(
    r"\b(please (hold|stay on the line|remain on the line)|(placed|put you) on hold|"
    r"your call is important|next available (agent|representative|operator))\b",
    re.I,
)

Answerer = Literal["menu", "screener", "hold", "mailbox", "unknown"]


def who_answered(first_words: str) -> Answerer:
    """`mailbox` when the words speak of a message or a tone; otherwise `menu` when they offer
    keys to press (the agent navigates it), `screener` when a call-screening service asks who
    is calling (the agent answers it and waits), `hold` when a queue asks the caller to hold
    (the agent waits); `unknown` otherwise (most often a person)."""
    if MACHINE_WORDS.search(first_words):
        return "mailbox"
    if MENU_WORDS.search(first_words):
        return "menu"
    if SCREENER_WORDS.search(first_words):
        return "screener"
    return "hold" if HOLD_WORDS.search(first_words) else "unknown"
