"""The test kit itself: `until` fails with its message, the fake clock moves only when told,
the factories make rows of the user they are made for, and the development PBX's one policy."""

from __future__ import annotations

import datetime as dt

import pytest

from core.db import Database
from core.db.models import CallOutcome, CallState, CampaignStatus, TaskStatus
from tests.kit import T0, FakeClock, make_call, make_task, until, until_sync
from tests.kit.devpbx import unavailable


async def test_until_returns_what_the_check_saw() -> None:
    seen = iter([0, None, "there"])
    assert await until(lambda: next(seen), 1) == "there"


async def test_until_awaits_an_async_check() -> None:
    async def check() -> int:
        return 7

    assert await until(check, 1) == 7


async def test_until_fails_with_the_message_and_the_last_value() -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        await until(lambda: [], 0.05, "the queue to fill")
    assert str(failed.value) == "the queue to fill (after 0.05 s; last seen: [])"


def test_until_sync_fails_with_a_message_made_at_the_end() -> None:
    calls: list[int] = []
    with pytest.raises(pytest.fail.Exception, match=r"^looked \d+ times \(after 0.05 s"):
        until_sync(lambda: calls.append(1), 0.05, lambda: f"looked {len(calls)} times")


def test_the_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock()
    assert clock() == T0 == clock.now
    assert clock() == T0
    assert clock.advance(minutes=5) == T0 + dt.timedelta(minutes=5)
    assert clock.advance(dt.timedelta(hours=1), seconds=1) == T0 + dt.timedelta(
        hours=1, minutes=5, seconds=1
    )
    paris = dt.timezone(dt.timedelta(hours=1))
    assert clock.set(dt.datetime(2027, 1, 1, 9, tzinfo=paris)) == dt.datetime(
        2027, 1, 1, 8, tzinfo=dt.UTC
    )
    assert clock().tzinfo is dt.UTC


def test_the_fake_clock_refuses_naive_times_and_going_back() -> None:
    with pytest.raises(ValueError, match="aware"):
        FakeClock(dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="forward"):
        FakeClock().advance(seconds=-1)


async def test_factories_make_rows_of_their_user_only(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    task = await make_task(db, alice, due_at=T0, status=TaskStatus.FAILED, attempts=2)
    call = await make_call(
        db,
        alice,
        task_id=task.id,
        state=CallState.ENDED,
        outcome=CallOutcome.NO_ANSWER,
        transcript=[("agent", "Hello?")],
    )
    assert (task.status, task.attempts, task.due_at) == (TaskStatus.FAILED, 2, T0)
    assert call.dialed_number == task.phone_e164 and call.outcome is CallOutcome.NO_ANSWER
    assert [t["text"] for t in call.transcript] == ["Hello?"]
    async with db.scope(alice) as s:
        campaign = await s.campaigns.require(task.campaign_id)
    assert campaign.status is CampaignStatus.ACTIVE
    async with db.scope(bob) as s:
        assert await s.tasks.get(task.id) is None and await s.calls.get(call.id) is None


@pytest.mark.parametrize("reason", ["the development PBX is not running"])
def test_an_unusable_pbx_is_not_tested_by_hand_and_says_how_to_enable_it(reason: str) -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        unavailable(reason, in_ci=False)
    message = str(skipped.value)
    assert message.startswith(f"NOT TESTED AGAINST ASTERISK — {reason}; to enable: ")
    assert "sudo asterisk/devpbx up" in message


def test_an_unusable_pbx_fails_in_ci() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"^CI must run the tests AGAINST ASTERISK: "):
        unavailable("the development PBX needs root", in_ci=True)
