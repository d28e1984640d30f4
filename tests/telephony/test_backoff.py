"""Reconnect delays: exponential, capped, jittered."""

from __future__ import annotations

import random

import pytest

from telephony.backoff import Backoff


def test_without_jitter_doubles_up_to_the_cap() -> None:
    b = Backoff(initial_s=0.5, max_s=4.0, factor=2.0, jitter=0.0)
    assert [b.delay(i) for i in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_jitter_stays_in_bounds_and_under_the_cap() -> None:
    b = Backoff(initial_s=1.0, max_s=10.0, factor=2.0, jitter=0.25, rng=random.Random(3))
    for attempt in range(40):
        base = min(10.0, 2.0**attempt)
        delay = b.delay(attempt)
        assert base * 0.75 <= delay <= min(10.0, base * 1.25)


def test_jitter_spreads_delays() -> None:
    b = Backoff(initial_s=1.0, max_s=30.0, jitter=0.2, rng=random.Random(1))
    assert len({round(b.delay(2), 6) for _ in range(20)}) > 10


def test_huge_attempt_numbers_do_not_overflow() -> None:
    assert Backoff(jitter=0.0).delay(10_000) == 30.0


@pytest.mark.parametrize(
    "kwargs",
    [{"initial_s": 0}, {"initial_s": 5, "max_s": 1}, {"factor": 0.5}, {"jitter": 1.0}],
)
def test_bad_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**kwargs)  # type: ignore[arg-type]
