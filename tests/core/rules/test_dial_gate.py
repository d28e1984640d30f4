"""Each rule of the pre-dial gate, and their order."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from core.rules import GateFacts, Verdict, Window, decide

NOON_NY = dt.datetime(2026, 12, 1, 12, 0, tzinfo=ZoneInfo("America/New_York"))
BASE = GateFacts(
    now=NOON_NY,
    campaign_active=True,
    number="+12125550102",
    zones=("America/New_York",),
    window=Window(dt.time(8), dt.time(21)),
    on_user_dnc=False,
    on_global_dnc=False,
    attempts_made=0,
    max_attempts=3,
    slots_free=1,
    test_mode=False,
    redirect_number="+12125550101",
)


def facts(**changes: object) -> GateFacts:
    return dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "verdict", "reason", "final"),
    [
        ({}, Verdict.DIAL, "all checks passed", None),
        ({"campaign_active": False}, Verdict.HOLD, "not active", None),
        ({"on_user_dnc": True}, Verdict.BLOCK, "on your Do-Not-Call list", "cancelled"),
        ({"on_global_dnc": True}, Verdict.BLOCK, "on the global Do-Not-Call list", "cancelled"),
        ({"on_user_dnc": True, "test_mode": True}, Verdict.BLOCK, "Do-Not-Call", "cancelled"),
        ({"attempts_made": 3}, Verdict.BLOCK, "no attempts left (3 of 3)", "failed"),
        ({"now": NOON_NY.replace(hour=22)}, Verdict.DEFER, "calling window", None),
        ({"slots_free": 0}, Verdict.DEFER, "no free call slot", None),
        ({"first_success": True, "siblings_in_progress": 1}, Verdict.DEFER, "first success", None),
        (
            {"first_success": True, "sibling_succeeded": True},
            Verdict.BLOCK,
            "another call already succeeded",
            "cancelled",
        ),
        ({"first_success": False, "sibling_succeeded": True}, Verdict.DIAL, "all checks", None),
        (
            {"first_success": True, "siblings_in_progress": 0},
            Verdict.DIAL,
            "all checks passed",
            None,
        ),
        (
            {"first_success": False, "siblings_in_progress": 3},
            Verdict.DIAL,
            "all checks passed",
            None,
        ),
        (
            {"voice_problem": "X is empty"},
            Verdict.HOLD,
            "the voice cannot start — X is empty",
            None,
        ),
        ({"voice_problem": "X", "test_mode": True}, Verdict.HOLD, "voice cannot start", None),
        # order: DNC, attempts and the window come first; the voice before slots
        ({"voice_problem": "X", "on_user_dnc": True}, Verdict.BLOCK, "Do-Not-Call", "cancelled"),
        ({"voice_problem": "X", "attempts_made": 3}, Verdict.BLOCK, "no attempts", "failed"),
        ({"voice_problem": "X", "now": NOON_NY.replace(hour=22)}, Verdict.DEFER, "window", None),
        ({"voice_problem": "X", "slots_free": 0}, Verdict.HOLD, "voice cannot start", None),
        ({"test_mode": True}, Verdict.DIAL, "test mode: redirected to +12125550101", None),
        ({"test_mode": True, "now": NOON_NY.replace(hour=23)}, Verdict.DIAL, "test mode", None),
        # order: an inactive campaign holds even a DNC number; DNC beats attempts and window
        ({"campaign_active": False, "on_user_dnc": True}, Verdict.HOLD, "not active", None),
        ({"on_user_dnc": True, "attempts_made": 9}, Verdict.BLOCK, "Do-Not-Call", "cancelled"),
        (
            {"attempts_made": 5, "now": NOON_NY.replace(hour=23)},
            Verdict.BLOCK,
            "no attempts",
            "failed",
        ),
    ],
)
def test_each_rule(
    changes: dict[str, object], verdict: Verdict, reason: str, final: str | None
) -> None:
    got = decide(facts(**changes))
    assert got.verdict is verdict
    assert reason in got.reason
    assert got.final == final


def test_dial_goes_to_the_right_number() -> None:
    assert decide(facts()).number == "+12125550102"
    assert decide(facts(test_mode=True)).number == "+12125550101"


def test_outside_the_window_moves_to_the_next_opening_not_dropped() -> None:
    got = decide(facts(now=NOON_NY.replace(hour=22)))
    assert got.at == dt.datetime(2026, 12, 2, 8, 0, tzinfo=ZoneInfo("America/New_York"))


def test_no_slot_retries_soon() -> None:
    got = decide(facts(slots_free=0))
    assert got.at is not None
    assert dt.timedelta(0) < got.at - NOON_NY <= dt.timedelta(seconds=30)


def test_a_window_that_never_opens_fails_the_task() -> None:
    got = decide(
        facts(zones=("America/New_York", "Asia/Tokyo"), window=Window(dt.time(9), dt.time(10)))
    )
    assert got.verdict is Verdict.BLOCK
    assert got.final == "failed"


def test_a_voice_that_cannot_start_holds_and_says_so_on_the_campaign() -> None:
    got = decide(facts(voice_problem="OPENAI_API_KEY is empty"))
    assert got.number is None
    assert got.campaign_note == got.reason
    assert got.reason == "not dialling: the voice cannot start — OPENAI_API_KEY is empty"
    assert got.at is not None and dt.timedelta(0) < got.at - NOON_NY <= dt.timedelta(minutes=1)
    assert decide(facts()).campaign_note is None
