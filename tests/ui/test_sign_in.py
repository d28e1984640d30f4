"""Sign-in under the throttle, and sessions that end on the server (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from core.db import Database
from tests.conftest import make_user
from ui.sign_in import RECHECK, Attempt, SignInGate, locked_message

T0 = dt.datetime(2026, 3, 29, 0, 59, tzinfo=dt.UTC)  # an hour before a DST change in Europe
GOOD = "alice-password-123"
HOME = "203.0.113.7"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def gate(db: Database, clock: Clock) -> SignInGate:
    await make_user(db, "alice")
    return SignInGate(db, clock, lifetime=dt.timedelta(hours=12), idle=dt.timedelta(hours=1))


async def _fail(gate: SignInGate, times: int, *, name: str = "alice", at: str = HOME) -> Attempt:
    attempt = Attempt()
    for _ in range(times):
        attempt = await gate.attempt(name, "wrong-password", at)
        assert attempt.token is None
    return attempt


async def test_five_failures_lock_the_name_for_30_s_even_for_the_right_password(
    gate: SignInGate, clock: Clock
) -> None:
    assert (await _fail(gate, 4)).wait_s == 0
    assert (await _fail(gate, 1)).wait_s == 30  # the fifth locks
    refused = await gate.attempt("alice", GOOD, HOME)
    assert refused == Attempt(wait_s=30)
    assert locked_message(refused.wait_s) == "too many failed sign-ins; try again in 30 s"
    # From another address too: the lock is on the name.
    assert (await gate.attempt("alice", GOOD, "198.51.100.9")).wait_s == 30
    clock.advance(seconds=12)
    assert (await gate.attempt("alice", GOOD, HOME)).wait_s == 18
    clock.advance(seconds=18)
    assert (await gate.attempt("alice", GOOD, HOME)).token is not None


async def test_each_further_lock_doubles_and_a_success_forgets(
    gate: SignInGate, clock: Clock
) -> None:
    await _fail(gate, 5)
    clock.advance(seconds=30)
    assert (await _fail(gate, 1)).wait_s == 60
    clock.advance(seconds=60)
    assert (await _fail(gate, 1)).wait_s == 120
    clock.advance(seconds=120)
    assert (await gate.attempt("alice", GOOD, HOME)).token is not None
    assert (await _fail(gate, 4)).wait_s == 0  # counting from zero again


async def test_an_unknown_name_is_answered_like_a_known_one(gate: SignInGate) -> None:
    for name in ("alice", "nobody"):
        assert (await _fail(gate, 4, name=name)).wait_s == 0
        assert (await _fail(gate, 1, name=name)).wait_s == 30
        assert await gate.attempt(name, GOOD, HOME) == Attempt(wait_s=30)


async def test_an_address_guessing_many_names_is_locked(gate: SignInGate) -> None:
    for n in range(4):
        assert (await _fail(gate, 4, name=f"user{n}")).wait_s == 0
    assert (await _fail(gate, 3, name="user9")).wait_s == 0  # 19 failures from HOME
    assert (await _fail(gate, 1, name="user10")).wait_s == 30  # the 20th
    assert (await gate.attempt("alice", GOOD, HOME)).wait_s == 30
    assert (await gate.attempt("alice", GOOD, "198.51.100.9")).token is not None


async def test_the_lock_outlives_the_node(db: Database, gate: SignInGate, clock: Clock) -> None:
    await _fail(gate, 5)
    restarted = SignInGate(db, clock, lifetime=dt.timedelta(hours=12), idle=dt.timedelta(hours=1))
    assert (await restarted.attempt("alice", GOOD, HOME)).wait_s == 30


async def _signed_in(gate: SignInGate) -> str:
    attempt = await gate.attempt(" Alice ", GOOD, HOME)
    assert attempt.token is not None and attempt.username == "alice"
    return attempt.token


async def test_a_session_ends_after_an_hour_idle(gate: SignInGate, clock: Clock) -> None:
    token = await _signed_in(gate)
    for _ in range(3):
        clock.advance(minutes=59)
        assert await gate.session_user(token) == "alice"
    clock.advance(minutes=60)
    assert await gate.session_user(token) is None
    clock.advance(seconds=1)
    assert await gate.session_user(token) is None  # gone for good


async def test_a_session_ends_after_its_lifetime_however_busy(
    gate: SignInGate, clock: Clock
) -> None:
    token = await _signed_in(gate)
    for _ in range(23):
        clock.advance(minutes=30)
        assert await gate.session_user(token) == "alice"
    clock.advance(minutes=30)  # 12 h
    assert await gate.session_user(token) is None


async def test_sign_out_ends_only_that_session(gate: SignInGate) -> None:
    first, second = await _signed_in(gate), await _signed_in(gate)
    assert await gate.session_user(first) == "alice"
    await gate.sign_out(first)
    assert await gate.session_user(first) is None
    assert await gate.session_user(second) == "alice"
    assert await gate.session_user("made-up-token") is None


async def test_a_session_ended_elsewhere_stops_working_within_the_recheck(
    db: Database, gate: SignInGate, clock: Clock
) -> None:
    token = await _signed_in(gate)
    assert await gate.session_user(token) == "alice"
    async with db.users() as users:
        alice = await users.id_for("alice")
    assert alice is not None
    async with db.sign_in() as records:
        assert await records.end_sessions_of(alice) == 1
    clock.advance(seconds=RECHECK.total_seconds())
    assert await gate.session_user(token) is None
