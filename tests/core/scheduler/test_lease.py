"""The lease keeper: it outlives a failed renewal, and a lost lease is noticed and respected.

Real database (SQLite and PostgreSQL), real dispatchers; the attempt runner stands for the call
(it writes the call's row as the real one does before dialling, then holds the line).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import text
from structlog.testing import capture_logs

from core.db import Claim, Database
from core.db.models import CallState, TaskStatus
from core.scheduler import Dispatcher
from core.scheduler.lease import renew_every, why_lost
from tests.core.scheduler.test_dispatcher import NOON, RecordingRunner, drain, seed, settings
from tests.kit import FakeClock, make_call, until

T0 = NOON.astimezone(dt.UTC)


class CallingRunner(RecordingRunner):
    """Writes the call's row for each attempt (as the real runner does before the Originate),
    then holds the line until `hang_up` is set; `fail` makes the attempt end with an error."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.dialled = asyncio.Event()
        self.hang_up = asyncio.Event()
        self.fail = False
        self.claims: list[Claim] = []
        self.ended: list[int] = []

    async def run_attempt(self, claim: Claim, number: str) -> None:
        self.claims.append(claim)
        await make_call(
            self.db,
            claim.user_id,
            task_id=claim.task_id,
            attempt=claim.attempt,
            call_uuid=f"00000000-0000-4000-8000-{claim.task_id:06d}{claim.attempt:06d}",
            dialed_number=number,
            node_id="node-a",
        )
        self.dialled.set()
        await self.hang_up.wait()
        self.ended.append(claim.attempt)  # the conversation ran to its end
        if self.fail:
            raise RuntimeError("the analysis broke")


async def task_row(db: Database, user_id: int, task_id: int) -> Any:
    async with db.scope(user_id) as s:
        return await s.tasks.require(task_id)


@asynccontextmanager
async def tasks_table_away(db: Database) -> AsyncIterator[None]:
    """The database cannot serve the tasks table for a while (every statement on it fails)."""
    async with db.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE tasks RENAME TO tasks_away"))
    try:
        yield
    finally:
        async with db.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE tasks_away RENAME TO tasks"))


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "claimed_by", "attempts", "now", "why"),
    [
        # its own attempt moved the task on while the lease still ran: not lost
        (TaskStatus.PENDING, None, 1, T0, None),
        (TaskStatus.ON_HOLD, None, 1, T0, None),
        (TaskStatus.COMPLETED, None, 1, T0, None),
        # taken
        (TaskStatus.CLAIMED, "node-b", 2, T0, "node node-b claimed the task"),
        (TaskStatus.PENDING, None, 2, T0, "attempt 2 of the task was started elsewhere"),
        (TaskStatus.PENDING, None, 1, T0 + dt.timedelta(minutes=5), "lease ran out"),
        (None, None, 0, T0, "no longer exists"),
    ],
)
def test_why_a_lease_was_lost(
    status: TaskStatus | None, claimed_by: str | None, attempts: int, now: dt.datetime, why: str
) -> None:
    found = why_lost(
        node_id="node-a",
        attempt=1,
        held_until=T0 + dt.timedelta(minutes=5),
        now=now,
        status=status,
        claimed_by=claimed_by,
        attempts=attempts,
    )
    if why is None:
        assert found is None
    else:
        assert found is not None and why in found


@pytest.mark.parametrize(("lease_s", "every_s"), [(300, 100), (6, 2), (0.03, 0.1)])
def test_a_lease_is_renewed_every_third_of_it(lease_s: float, every_s: float) -> None:
    assert renew_every(dt.timedelta(seconds=lease_s)) == pytest.approx(every_s)


# --- the keeper -------------------------------------------------------------------------------


async def test_the_keeper_outlives_a_failed_renewal(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    (tid,) = await seed(db, alice, ["+12125550101"])
    clock = FakeClock(NOON)
    lease = dt.timedelta(seconds=0.3)  # renewed every 0.1 s
    runner = CallingRunner(db)
    d = Dispatcher(db, settings(), runner, clock=clock, lease=lease)
    await d.tick()
    await runner.dialled.wait()
    with capture_logs() as logs:
        async with tasks_table_away(db):
            await until(
                lambda: any(e["event"].startswith("lease renewal failed") for e in logs),
                10,
                "a failed lease renewal logged",
            )
        clock.advance(dt.timedelta(minutes=10))  # the lease ran out meanwhile
        await until(
            lambda: any("renewed after it had run out" in e["event"] for e in logs),
            10,
            "a late renewal logged",
        )
    failed = next(e for e in logs if e["event"].startswith("lease renewal failed"))
    assert (failed["task_id"], failed["attempt"], failed["log_level"]) == (tid, 1, "error")
    task = await task_row(db, alice, tid)
    assert task.status is TaskStatus.CLAIMED and task.claimed_by == "node-a"
    assert task.lease_expires_at == clock() + lease  # kept, and renewed on the moved clock
    runner.hang_up.set()
    await drain(d)


async def test_a_lost_lease_leaves_the_task_to_its_new_holder(
    db: Database, two_users: tuple[int, int]
) -> None:
    """Node A's keeper comes too late (its lease ran out: a stall); node B's reaper gives the
    task back and node B dials it again. A's call is not cut off, A notices the loss, and A's
    attempt, failing at its end, writes nothing over B's claim."""
    alice, _ = two_users
    (tid,) = await seed(db, alice, ["+12125550101"])
    clock = FakeClock(NOON)
    lease = dt.timedelta(seconds=12)  # A renews every 4 s: B acts well before that
    a_runner = CallingRunner(db)
    a_runner.fail = True
    a = Dispatcher(db, settings(), a_runner, clock=clock, lease=lease)
    await a.tick()
    await a_runner.dialled.wait()
    (a_claim,) = a_runner.claims

    clock.advance(dt.timedelta(hours=1))  # A was stalled past its lease
    b_runner = RecordingRunner(db, live=False)  # B's PBX does not have A's call
    b_runner.release.clear()
    b = Dispatcher(db, settings(node_id="node-b"), b_runner, clock=clock, lease=lease)
    with capture_logs() as logs:
        assert await b.reap() == 1
        clock.advance(dt.timedelta(minutes=5))  # past the technical-failure retry delay
        assert (await b.tick()).dialled == [tid]
        await until(lambda: a_claim.lease.lost, 10, "node A to notice its lease is lost")
        assert a_runner.ended == []  # A's call still goes on
        a_runner.hang_up.set()
        await drain(a)
    assert a_runner.ended == [1]
    assert "node node-b claimed the task" in a_claim.lease.why
    task = await task_row(db, alice, tid)
    assert (task.status, task.claimed_by, task.attempts) == (TaskStatus.CLAIMED, "node-b", 2)
    events = {e["event"]: e for e in logs}
    lost = next(e for k, e in events.items() if k.startswith("lease lost"))
    assert (lost["task_id"], lost["attempt"], lost["log_level"]) == (tid, 1, "warning")
    assert any("left to its holder" in k for k in events)
    async with db.scope(alice) as s:
        (first,) = await s.calls.list_for_task(tid)
    assert (first.attempt, first.state) == (1, CallState.ENDED)  # B's reaper closed it
    b_runner.release.set()
    await drain(b)


async def test_the_reaper_leaves_a_claim_of_an_attempt_still_running_here(
    db: Database, two_users: tuple[int, int]
) -> None:
    """Its keeper could not renew for a while (the lease ran out): the node is alive and the
    attempt is running, so this node's reaper renews the lease instead of giving the task back."""
    alice, _ = two_users
    (tid,) = await seed(db, alice, ["+12125550101"])
    clock = FakeClock(NOON)
    lease = dt.timedelta(minutes=5)
    runner = CallingRunner(db)
    d = Dispatcher(db, settings(), runner, clock=clock, lease=lease)
    await d.tick()
    await runner.dialled.wait()
    clock.advance(dt.timedelta(minutes=10))
    assert await d.reap() == 0
    task = await task_row(db, alice, tid)
    assert (task.status, task.claimed_by) == (TaskStatus.CLAIMED, "node-a")
    assert task.lease_expires_at == clock() + lease
    runner.hang_up.set()
    await drain(d)
