"""The analyzer's rules: the quote check, callback times, the next step and the review gate."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from agents.calling_window import plan_window
from agents.post_call_analyzer import (
    ReportedFact,
    check_facts,
    decide_next_step,
    outcome_from_telephony,
    read_local_time,
    resolve_callback,
    review_reasons,
)
from agents.schemas import OUTCOMES, Fact, NextStep, Outcome
from core.db.models import CallOutcome, StopRule

NY = ZoneInfo("America/New_York")
CALL = dt.datetime(2026, 11, 24, 10, 0, tzinfo=NY)  # Tuesday 10:00 New York
NOW = dt.datetime(2026, 11, 24, 15, 5, tzinfo=dt.UTC)
LEGAL = plan_window(dt.time(8), dt.time(21))
TURNS = [
    "Hi, this is an AI assistant calling on behalf of Alice.",
    "Yes — we can do TUESDAY at 9:30,  with Dr. Lee.",
    "It's eighty dollars.",
]


@pytest.mark.parametrize(
    ("quote", "supported"),
    [
        ("we can do Tuesday at 9:30", True),  # case, punctuation, whitespace
        ("tuesday at 9:30 with dr lee", True),
        ("Callee: It's eighty dollars", True),  # a speaker prefix is not part of the quote
        ("we can do Wednesday at 9:30", False),
        ("9:30 with Dr. Lee. It's eighty", False),  # may not stitch two turns
        ("dollar", False),  # whole words only
        ("", False),
    ],
)
def test_quote_check(quote: str, supported: bool) -> None:
    [fact] = check_facts([ReportedFact(name="x", value="y", quote=quote)], TURNS)
    assert fact.supported is supported


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("Thursday after 3 pm", dt.datetime(2026, 11, 26, 15, 0, tzinfo=NY)),
        ("can you call me back tomorrow morning?", dt.datetime(2026, 11, 25, 9, 0, tzinfo=NY)),
        ("try again in 2 hours", dt.datetime(2026, 11, 24, 12, 0, tzinfo=NY)),
        ("in half an hour", dt.datetime(2026, 11, 24, 10, 30, tzinfo=NY)),
        ("at 4", dt.datetime(2026, 11, 24, 16, 0, tzinfo=NY)),
        ("9 am", dt.datetime(2026, 11, 25, 9, 0, tzinfo=NY)),  # already past today
        ("Tuesday", dt.datetime(2026, 12, 1, 10, 0, tzinfo=NY)),  # today is Tuesday: next week
        ("next week", dt.datetime(2026, 11, 30, 10, 0, tzinfo=NY)),
        ("Friday around noon", dt.datetime(2026, 11, 27, 12, 0, tzinfo=NY)),
        ("Wednesday at 15:00", dt.datetime(2026, 11, 25, 15, 0, tzinfo=NY)),
        ("this afternoon", dt.datetime(2026, 11, 24, 14, 0, tzinfo=NY)),
        ("later", dt.datetime(2026, 11, 24, 12, 0, tzinfo=NY)),
        ("sometime, maybe", None),
    ],
)
def test_callback_phrases_resolve_in_the_callee_zone(
    phrase: str, expected: dt.datetime | None
) -> None:
    got = resolve_callback(phrase, CALL.astimezone(dt.UTC), "America/New_York")
    assert got == expected
    if got is not None:
        assert got.tzinfo is not None and got.utcoffset() == dt.timedelta(hours=-5)


def test_model_reading_of_a_callback_time() -> None:
    assert read_local_time("2026-11-26T15:00", CALL, "America/New_York") == dt.datetime(
        2026, 11, 26, 15, tzinfo=NY
    )
    assert read_local_time("2026-11-20T15:00", CALL, "America/New_York") is None  # past
    assert read_local_time("Thursday", CALL, "America/New_York") is None


@pytest.mark.parametrize(
    ("outcome", "spoke", "expected"),
    [
        (CallOutcome.BUSY, False, "busy"),
        (CallOutcome.NO_ANSWER, False, "no_answer"),
        (CallOutcome.CONGESTION, False, "technical_failure"),
        (CallOutcome.VOICEMAIL, False, "voicemail"),
        (CallOutcome.ANSWERED, False, "technical_failure"),
        (CallOutcome.ANSWERED, True, None),
        (CallOutcome.VOICEMAIL, True, None),
    ],
)
def test_telephony_alone(outcome: CallOutcome, spoke: bool, expected: str | None) -> None:
    assert outcome_from_telephony(outcome, callee_spoke=spoke) == expected


def _next(outcome: Outcome, **kw: object) -> NextStep:
    args: dict[str, object] = {
        "goal_achieved": outcome == "achieved",
        "callback_at": None,
        "proposed": None,
        "stop_rule": StopRule.CALL_EVERYONE,
        "attempts": 1,
        "max_attempts": 3,
        "now": NOW,
        "zones": ["America/New_York"],
        "window": LEGAL,
    }
    args.update(kw)
    return decide_next_step(outcome, **args)  # type: ignore[arg-type]


EXPECTED: dict[str, tuple[str, dt.datetime | None]] = {
    "achieved": ("done", None),
    "partial": ("ask_owner", None),
    "voicemail": ("retry_at", NOW + dt.timedelta(days=1, hours=3)),
    "wrong_number": ("done", None),
    "callback_requested": ("ask_owner", None),  # no time known
    "refused": ("done", None),
    "opt_out": ("done", None),
    "no_answer": ("retry_at", NOW + dt.timedelta(hours=2)),
    "busy": ("retry_at", NOW + dt.timedelta(minutes=10)),
    "technical_failure": ("retry_at", NOW + dt.timedelta(minutes=3)),
}


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_next_step_per_outcome(outcome: Outcome) -> None:
    step = _next(outcome)
    assert (step.action, step.at) == EXPECTED[outcome]


def test_goal_met_under_first_success_cancels_the_siblings() -> None:
    assert _next("achieved", stop_rule=StopRule.FIRST_SUCCESS).action == "cancel_siblings"


def test_callback_time_is_kept_or_moved_into_the_window() -> None:
    thursday = dt.datetime(2026, 11, 26, 15, 0, tzinfo=NY)
    step = _next("callback_requested", callback_at=thursday)
    assert (step.action, step.at) == ("call_back_at", thursday)
    late = dt.datetime(2026, 11, 26, 22, 30, tzinfo=NY)
    moved = _next("callback_requested", callback_at=late)
    assert moved.at == dt.datetime(2026, 11, 27, 8, 0, tzinfo=NY) and "moved" in moved.reason


def test_retries_land_in_the_window_and_stop_when_attempts_run_out() -> None:
    evening = dt.datetime(2026, 11, 25, 1, 30, tzinfo=dt.UTC)  # 20:30 New York
    assert _next("no_answer", now=evening).at == dt.datetime(2026, 11, 25, 13, 0, tzinfo=dt.UTC)
    assert _next("no_answer", attempts=3).action == "done"
    # A callback the callee asked for is honoured beyond the attempts (the scheduler's policy).
    thursday = dt.datetime(2026, 11, 26, 15, 0, tzinfo=NY)
    assert _next("callback_requested", callback_at=thursday, attempts=3).at == thursday
    assert _next("technical_failure", attempts=3).action == "ask_owner"
    assert _next("refused", proposed="ask_owner").action == "ask_owner"


def test_review_reasons() -> None:
    step = NextStep(action="done")
    ok = Fact(name="a", value="b", quote="c")
    bad = Fact(name="price", value="$1", quote="zzz", supported=False)
    args = {"outcome": "achieved", "threshold": 0.6, "next_step": step, "goal_achieved": True}
    assert review_reasons(confidence=0.9, facts=[ok], **args) == []  # type: ignore[arg-type]
    low = review_reasons(confidence=0.4, facts=[ok], **args)  # type: ignore[arg-type]
    assert low == ["low confidence (0.40 < 0.60)"]
    unsupported = review_reasons(confidence=0.9, facts=[ok, bad], **args)  # type: ignore[arg-type]
    assert "price" in unsupported[0]
    ask = review_reasons(
        outcome="partial",
        confidence=0.9,
        threshold=0.6,
        goal_achieved=False,
        facts=[],
        next_step=NextStep(action="ask_owner", reason="r"),
        owner_question="Pay $200?",
    )
    assert ask == ["Pay $200?"]
    clash = review_reasons(
        outcome="refused",
        confidence=0.9,
        threshold=0.6,
        goal_achieved=True,
        facts=[],
        next_step=step,
    )
    assert "disagrees" in clash[0]
