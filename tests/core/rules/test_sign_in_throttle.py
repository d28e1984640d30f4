"""When failed sign-ins lock a key, and for how long."""

from __future__ import annotations

import datetime as dt

import pytest

from core.rules import ADDRESS_POLICY, USER_POLICY, ThrottlePolicy, ThrottleState

T0 = dt.datetime(2026, 3, 8, 2, 30, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)


def _after(failures: int, policy: ThrottlePolicy = USER_POLICY) -> ThrottleState:
    state = ThrottleState()
    for _ in range(failures):
        state = policy.after_failure(state, T0)
    return state


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        (0, ThrottleState()),
        (1, ThrottleState(failures=1)),
        (4, ThrottleState(failures=4)),
        (5, ThrottleState(failures=0, locks=1, locked_until=T0 + 30 * S)),
    ],
)
def test_the_fifth_failure_locks_for_30_s(failures: int, expected: ThrottleState) -> None:
    assert _after(failures) == expected


@pytest.mark.parametrize(
    ("state", "now", "wait"),
    [
        (ThrottleState(), T0, 0),
        (ThrottleState(failures=4), T0, 0),
        (ThrottleState(locks=1, locked_until=T0 + 30 * S), T0, 30),
        (ThrottleState(locks=1, locked_until=T0 + 30 * S), T0 + 29.2 * S, 1),  # rounded up
        (ThrottleState(locks=1, locked_until=T0 + 30 * S), T0 + 30 * S, 0),  # ran out
        (ThrottleState(locks=1, locked_until=T0 + 30 * S), T0 + 3600 * S, 0),
    ],
)
def test_wait_counts_whole_seconds_to_the_end_of_the_lock(
    state: ThrottleState, now: dt.datetime, wait: int
) -> None:
    assert USER_POLICY.wait(state, now) == wait


@pytest.mark.parametrize(
    ("locks", "length_s"),
    [(1, 30), (2, 60), (3, 120), (4, 240), (7, 1920), (8, 3600), (9, 3600), (1000, 3600)],
)
def test_each_further_lock_doubles_up_to_an_hour(locks: int, length_s: int) -> None:
    assert USER_POLICY.lock_length(locks) == length_s * S


def test_after_a_lock_ran_out_the_next_failure_locks_again_for_twice_as_long() -> None:
    locked = _after(5)
    later = T0 + 31 * S
    assert USER_POLICY.wait(locked, later) == 0
    again = USER_POLICY.after_failure(locked, later)
    assert again == ThrottleState(failures=0, locks=2, locked_until=later + 60 * S)
    assert USER_POLICY.wait(again, later) == 60


def test_an_address_gets_more_failures_than_a_name() -> None:
    assert ADDRESS_POLICY.wait(_after(19, ADDRESS_POLICY), T0) == 0
    assert ADDRESS_POLICY.wait(_after(20, ADDRESS_POLICY), T0) == 30
