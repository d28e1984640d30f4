"""Who answered, from the first words heard on the line: a phone menu, a mailbox, or neither."""

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

Answerer = Literal["menu", "mailbox", "unknown"]


def who_answered(first_words: str) -> Answerer:
    """`menu` when the words offer keys to press (and mention no mailbox): the agent navigates
    it; `mailbox` when they speak of a message or a tone; `unknown` otherwise (most often a
    person)."""
    mailbox = MACHINE_WORDS.search(first_words) is not None
    if not mailbox and MENU_WORDS.search(first_words):
        return "menu"
    return "mailbox" if mailbox else "unknown"
