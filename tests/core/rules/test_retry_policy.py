from __future__ import annotations

import datetime as dt

import pytest

from core.rules import RetryPolicy

NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("outcome", "attempts", "retry", "delay"),
    [
        ("busy", 1, True, dt.timedelta(minutes=10)),
        ("congestion", 1, True, dt.timedelta(minutes=5)),
        ("no_answer", 1, True, dt.timedelta(hours=2)),
        ("no_answer", 2, True, dt.timedelta(hours=2)),
        ("no_answer", 3, False, None),
        ("voicemail", 1, True, dt.timedelta(days=1, hours=3)),
        ("technical_failure", 1, True, dt.timedelta(minutes=3)),
        ("achieved", 1, False, None),
        ("refused", 1, False, None),
        ("opt_out", 1, False, None),
    ],
)
def test_by_outcome(outcome: str, attempts: int, retry: bool, delay: dt.timedelta | None) -> None:
    got = RetryPolicy().next_attempt(outcome, attempts_made=attempts, max_attempts=3, now=NOW)
    assert got.retry is retry
    assert got.at == (NOW + delay if delay else None)


def test_callback_at_the_asked_time_even_after_the_last_attempt() -> None:
    asked = NOW + dt.timedelta(days=2)
    policy = RetryPolicy()
    got = policy.next_attempt(
        "callback_requested", attempts_made=3, max_attempts=3, now=NOW, callback_at=asked
    )
    assert (got.retry, got.at) == (True, asked)
    past = policy.next_attempt(
        "callback_requested",
        attempts_made=1,
        max_attempts=3,
        now=NOW,
        callback_at=NOW - dt.timedelta(hours=1),
    )
    assert past.at == NOW
    too_many = policy.next_attempt(
        "callback_requested", attempts_made=5, max_attempts=3, now=NOW, callback_at=asked
    )
    assert not too_many.retry


def test_configurable() -> None:
    policy = RetryPolicy(delays={"busy": dt.timedelta(seconds=30)})
    assert policy.next_attempt(
        "busy", attempts_made=1, max_attempts=2, now=NOW
    ).at == NOW + dt.timedelta(seconds=30)
    assert not policy.next_attempt("no_answer", attempts_made=1, max_attempts=2, now=NOW).retry
