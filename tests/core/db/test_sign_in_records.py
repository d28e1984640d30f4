"""Failed sign-ins and browser sessions, stored alike on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from core.db import Database
from core.db.sign_in import address_key, user_key
from core.rules import ThrottleState
from tests.conftest import make_user

T0 = dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC)


def test_keys_are_canonical() -> None:
    assert user_key("  Alice ") == "user:alice"
    assert address_key("2001:DB8::0:1") == "addr:2001:db8::1"
    assert address_key("unknown") == "addr:unknown"
    assert len(user_key("x" * 500)) <= 128


async def test_throttle_state_round_trips_and_is_forgotten(db: Database) -> None:
    keys = [user_key("alice"), address_key("203.0.113.7")]
    async with db.sign_in() as records:
        assert await records.throttle_states(keys) == dict.fromkeys(keys, ThrottleState())
        locked = ThrottleState(failures=0, locks=2, locked_until=T0 + dt.timedelta(seconds=60))
        await records.save_throttle_state(keys[0], locked, T0)
        await records.save_throttle_state(keys[1], ThrottleState(failures=3), T0)
    async with db.sign_in() as records:
        states = await records.throttle_states(keys)
        assert states == {keys[0]: locked, keys[1]: ThrottleState(failures=3)}
        await records.save_throttle_state(keys[1], ThrottleState(failures=4), T0)
    async with db.sign_in() as records:
        assert (await records.throttle_states(keys[1:]))[keys[1]].failures == 4
        assert await records.forget([keys[0], "user:nobody"]) == 1
    async with db.sign_in() as records:
        assert (await records.throttle_states(keys))[keys[0]] == ThrottleState()


async def test_stale_keys_are_dropped_but_not_a_running_lock(db: Database) -> None:
    day = dt.timedelta(days=1, seconds=1)
    long_lock = ThrottleState(locks=9, locked_until=T0 + 2 * day)
    async with db.sign_in() as records:
        await records.save_throttle_state("user:old", ThrottleState(failures=2), T0)
        await records.save_throttle_state("user:locked", long_lock, T0)
        await records.save_throttle_state("user:new", ThrottleState(failures=1), T0 + day)
        await records.forget_stale(T0 + day)
    async with db.sign_in() as records:
        states = await records.throttle_states(["user:old", "user:locked", "user:new"])
    assert states == {
        "user:old": ThrottleState(),
        "user:locked": long_lock,
        "user:new": ThrottleState(failures=1),
    }


async def test_sessions_open_touch_and_end(db: Database) -> None:
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    later = T0 + dt.timedelta(minutes=5)
    async with db.sign_in() as records:
        await records.open_session("a1", alice, T0)
        await records.open_session("a2", alice, T0)
        await records.open_session("b1", bob, T0)
    async with db.sign_in() as records:
        found = await records.session("a1")
        assert found is not None
        row, name = found
        assert (name, row.user_id, row.created_at, row.last_seen_at) == ("alice", alice, T0, T0)
        await records.touch_session("a1", later)
        assert await records.session("nope") is None
    async with db.sign_in() as records:
        found = await records.session("a1")
        assert found is not None and found[0].last_seen_at == later
        await records.end_session("a1")
        assert await records.session("a1") is None
        assert await records.end_sessions_of(alice) == 1
        assert await records.session("a2") is None
        assert await records.session("b1") is not None
