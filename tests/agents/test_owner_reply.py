"""Reading the owner's answer to a review: every kind of words, the buttons, what is refused."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agents.post_call_analyzer import Callee, OwnerStep, Unread, read_answer, read_button
from agents.post_call_analyzer.owner_reply import read_instruction
from core.rules.calling_window import Window

NY = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)  # a Tuesday, 10:00 in New York
CALLEE = Callee(zones=["America/New_York"], window=Window(dt.time(8), dt.time(21)), now=NOW)


def ny(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=NY)


@pytest.mark.parametrize(
    ("text", "action", "at", "phone"),
    [
        ("call back Thursday after 3", "call_back_at", ny(26, 15), None),
        ("Call them again tomorrow at 10 in the morning", "retry_at", ny(25, 10), None),
        ("try again in 2 hours", "retry_at", ny(24, 12), None),
        ("retry now", "retry_at", NOW, None),
        ("call them again", "retry_at", NOW, None),  # no time: as soon as the window allows
        ("Thursday 4pm", "call_back_at", ny(26, 16), None),  # a time alone: call then
        ("Not done yet, call them again tomorrow", "retry_at", ny(25, 10), None),
        ("call them again at 23:00", "retry_at", ny(25, 8), None),  # moved into the window
        ("give up", "cancel", None, None),
        ("Don't call them again.", "cancel", None, None),
        ("stop calling", "cancel", None, None),
        ("done", "done", None, None),
        ("That's fine, mark it as done", "done", None, None),
        ("Leave it, I will call them myself.", "done", None, None),
        ("yes", "accept", None, None),
        ("the number is wrong, use +1 212 555 0199", "retry_at", NOW, "+12125550199"),
        ("wrong number; call (212) 555-0199 tomorrow at 9", "retry_at", ny(25, 9), "+12125550199"),
    ],
)
def test_words_become_a_next_step(
    text: str, action: str, at: dt.datetime | None, phone: str | None
) -> None:
    step = read_instruction(text, CALLEE, can_accept=True)
    assert isinstance(step, OwnerStep), step
    assert (step.action, step.at, step.phone) == (action, at, phone)
    if at is not None:
        assert step.at is not None and step.at.tzinfo is not None and step.at >= NOW


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("hmm, what do you think?", "I could not read"),
        ("", "empty"),
        ("call them again today at 9", "a time still to come"),  # 9:00 has passed there
        ("the number is wrong, use 555", "no whole phone number"),
        ("the number is wrong, use +1 212 555 01", "not a number I can dial"),
    ],
)
def test_what_cannot_be_read_is_never_guessed(text: str, problem: str) -> None:
    read = read_instruction(text, CALLEE, can_accept=True)
    assert isinstance(read, Unread) and problem in read.problem


def test_yes_is_no_answer_when_there_is_nothing_to_accept() -> None:
    read = read_instruction("yes", CALLEE, can_accept=False)
    assert isinstance(read, Unread) and "to keep the proposed next step" not in read.problem


def test_the_message_tells_the_callee_time_when_a_time_has_passed() -> None:
    read = read_instruction("call them again today at 9", CALLEE, can_accept=True)
    assert isinstance(read, Unread) and "it is now Tue 24 Nov 10:00 EST" in read.problem


@pytest.mark.parametrize(
    ("action", "when", "expected", "at"),
    [
        ("retry_at", "tomorrow at 10", "retry_at", ny(25, 10)),
        ("call_back_at", "Thursday after 3 pm", "call_back_at", ny(26, 15)),
        ("retry_at", "", "retry_at", NOW),
        ("retry_at", "now", "retry_at", NOW),
        ("done", "tomorrow", "done", None),  # a time is only read for retry / call back
        ("cancel", "", "cancel", None),
    ],
)
def test_buttons(action: Any, when: str, expected: str, at: dt.datetime | None) -> None:
    step = read_button(action, when, CALLEE)
    assert isinstance(step, OwnerStep) and (step.action, step.at) == (expected, at)


def test_a_button_time_outside_every_window_is_refused() -> None:
    closed = Callee(zones=["America/New_York"], window=None, now=NOW)
    read = read_button("retry_at", "tomorrow at 10", closed)
    assert isinstance(read, Unread) and "no calling window" in read.problem


@pytest.mark.parametrize(
    ("answer", "can_accept", "expected"),
    [
        ({"type": "accept"}, True, "accept"),
        ({"type": "accept"}, False, Unread),
        ({"type": "ignore"}, False, "done"),
        ({"type": "response", "args": "give up"}, False, "cancel"),
        ({"type": "edit", "args": "call back Thursday after 3"}, True, "call_back_at"),
        ({"type": "edit", "args": {"decision": "cancel", "when": ""}}, True, "cancel"),
        ({"type": "edit", "args": {"decision": "ask_owner"}}, True, Unread),
        ({"text": "done"}, False, "done"),  # as the Approvals tab stores a reply
        ({"type": "edit", "args": {"outcome": "refused"}}, True, None),  # a field edit
        ({}, True, Unread),
    ],
)
def test_answers_in_every_form(answer: dict[str, Any], can_accept: bool, expected: Any) -> None:
    read = read_answer(answer, CALLEE, can_accept=can_accept)
    if expected is None or expected is Unread:
        assert read is None if expected is None else isinstance(read, Unread)
    else:
        assert isinstance(read, OwnerStep) and read.action == expected


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("call them again tomorrow at 03:15", ny(25, 3, 15)),  # a 24-hour time, as written
        ("call them again tomorrow at 3:15", ny(25, 15, 15)),  # "at 3" said aloud: afternoon
        ("call them again at 2:32 am", ny(25, 2, 32)),
    ],
)
def test_clock_times_as_owners_write_them(text: str, at: dt.datetime) -> None:
    all_day = Callee(
        zones=["America/New_York"], window=Window(dt.time(0), dt.time(23, 59, 59)), now=NOW
    )
    step = read_instruction(text, all_day, can_accept=False)
    assert isinstance(step, OwnerStep) and step.at == at
