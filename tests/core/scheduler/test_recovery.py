"""A node killed mid-call and restarted under the same NODE_ID takes its own claims back at once.

What the killed node left is written as it would have written it (claim, attempt counted, call
row), then a fresh dispatcher with that node id starts on the real database. Its PBX's answer
about the call (`is_call_live`) is the attempt runner's: up, gone, or cannot tell yet.
"""

from __future__ import annotations

import datetime as dt

import pytest

from core.db import Database
from core.db.models import CallState, FeedbackKind, Task, TaskStatus
from core.scheduler import Dispatcher, SchedulerPart
from core.scheduler.reaper import still_held
from tests.core.scheduler.test_dispatcher import NOON, RecordingRunner, seed, settings
from tests.kit import make_call

LEASE = dt.timedelta(minutes=5)
RESTART = NOON + dt.timedelta(minutes=1)  # the claim was made at noon, a minute before


async def left_by_a_killed_node(
    db: Database, user_id: int, *, node_id: str = "node-a", dialled: bool = True
) -> int:
    """A task claimed by `node_id` a minute ago (its lease still runs), its first attempt
    counted and, if `dialled`, its call row written and the call under way."""
    (tid,) = await seed(db, user_id, ["+12125550101"])
    async with db.system() as system:
        (claim,) = await system.claim_due(node_id=node_id, now=NOON, lease=LEASE, limit=1)
    async with db.scope(user_id) as s:
        await s.tasks.record_attempt(tid, claim.attempt)
    if dialled:
        await make_call(
            db,
            user_id,
            task_id=tid,
            attempt=claim.attempt,
            call_uuid="22222222-2222-4222-8222-222222222222",
            node_id=node_id,
        )
    return tid


async def state(db: Database, user_id: int, tid: int) -> tuple[TaskStatus, str | None, int]:
    async with db.scope(user_id) as s:
        task = await s.tasks.require(tid)
    return task.status, task.claimed_by, task.attempts


async def call_state(db: Database, user_id: int, tid: int) -> CallState:
    async with db.scope(user_id) as s:
        (call,) = await s.calls.list_for_task(tid)
    return call.state


@pytest.mark.parametrize("dialled", [True, None], ids=["PBX marked it", "PBX cannot tell"])
async def test_a_call_gone_with_its_node_is_retried_at_start(
    db: Database, two_users: tuple[int, int], dialled: bool | None
) -> None:
    alice, _ = two_users
    tid = await left_by_a_killed_node(db, alice)
    runner = RecordingRunner(db, live=False, marked=dialled)
    d = Dispatcher(db, settings(), runner, clock=lambda: RESTART)
    assert await d.reap() == 0  # the lease still runs: the reaper alone would wait it out
    assert await d.recover() == 1
    status, holder, attempts = await state(db, alice, tid)
    assert (status, holder, attempts) == (TaskStatus.PENDING, None, 1)
    assert await call_state(db, alice, tid) is CallState.ENDED
    async with db.scope(alice) as s:
        task = await s.tasks.require(tid)
    assert task.last_outcome == "technical_failure"
    async with db.system() as system:  # the next claim dials a new attempt, never attempt 1
        (again,) = await system.claim_due(node_id="node-a", now=task.due_at, lease=LEASE, limit=1)
    assert again.attempt == 2


async def test_a_call_row_whose_originate_never_reached_the_pbx_is_given_back_uncounted(
    db: Database, two_users: tuple[int, int]
) -> None:
    """The node died between writing the row and sending the Originate: the PBX has no mark of
    it (`was_dialled` False), so the row goes and the same attempt is dialled again later."""
    alice, _ = two_users
    tid = await left_by_a_killed_node(db, alice)
    runner = RecordingRunner(db, live=False, marked=False)
    d = Dispatcher(db, settings(), runner, clock=lambda: RESTART)
    assert await d.recover() == 1
    assert runner.asked_dialled == [("22222222-2222-4222-8222-222222222222", RESTART)]
    assert await state(db, alice, tid) == (TaskStatus.PENDING, None, 0)
    async with db.scope(alice) as s:
        assert list(await s.calls.list_for_task(tid)) == []
    async with db.system() as system:
        (again,) = await system.claim_due(node_id="node-a", now=RESTART, lease=LEASE, limit=1)
    assert (again.task_id, again.attempt) == (tid, 1)


async def test_a_call_that_moved_on_is_never_forgotten_as_undialled(
    db: Database, two_users: tuple[int, int]
) -> None:
    """Only a row still reading `originating` is taken for an Originate that never left: one
    that rang is the call's evidence, whatever the PBX's marks say."""
    alice, _ = two_users
    tid = await left_by_a_killed_node(db, alice)
    async with db.scope(alice) as s:
        (call,) = await s.calls.list_for_task(tid)
        await s.calls.set_progress(call.id, state=CallState.RINGING)
    runner = RecordingRunner(db, live=False, marked=False)
    d = Dispatcher(db, settings(), runner, clock=lambda: RESTART)
    assert await d.recover() == 1
    assert runner.asked_dialled == []
    assert await state(db, alice, tid) == (TaskStatus.PENDING, None, 1)
    assert await call_state(db, alice, tid) is CallState.ENDED


async def test_an_attempt_counted_but_never_dialled_is_given_back_at_start(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    tid = await left_by_a_killed_node(db, alice, dialled=False)
    d = Dispatcher(db, settings(), RecordingRunner(db), clock=lambda: RESTART)
    assert await d.recover() == 1
    assert await state(db, alice, tid) == (TaskStatus.PENDING, None, 0)


@pytest.mark.parametrize("first_answer", [True, None], ids=["call still up", "PBX not ready"])
async def test_a_claim_the_pbx_cannot_settle_yet_is_looked_at_every_pass(
    db: Database, two_users: tuple[int, int], first_answer: bool | None
) -> None:
    """Up (the dialplan has not hung up yet) or unknown (AMI not connected yet): the task stays
    the node's; the next reaper passes look again, without waiting for the lease to run out."""
    alice, _ = two_users
    tid = await left_by_a_killed_node(db, alice)
    runner = RecordingRunner(db, live=first_answer)
    d = Dispatcher(db, settings(), runner, clock=lambda: RESTART, lease=LEASE)
    assert await d.recover() == 0
    assert await state(db, alice, tid) == (TaskStatus.CLAIMED, "node-a", 1)
    assert await call_state(db, alice, tid) is CallState.ORIGINATING
    assert await d.reap() == 0  # same answer, same result
    runner.live = False  # the call is gone now
    assert await d.reap() == 1
    assert (await state(db, alice, tid))[0] is TaskStatus.PENDING
    assert await call_state(db, alice, tid) is CallState.ENDED


async def test_a_call_whose_analysis_was_cut_off_goes_to_the_owner(
    db: Database, two_users: tuple[int, int]
) -> None:
    """The call had ended and the node was analysing it: dialling again would only guess."""
    alice, _ = two_users
    tid = await left_by_a_killed_node(db, alice)
    async with db.scope(alice) as s:
        (call,) = await s.calls.list_for_task(tid)
        await s.calls.set_progress(call.id, state=CallState.ENDED, ended_at=NOON)
        assert await s.tasks.start_analysis(tid)
    d = Dispatcher(db, settings(), RecordingRunner(db), clock=lambda: RESTART)
    assert await d.recover() == 1
    assert await state(db, alice, tid) == (TaskStatus.ON_HOLD, None, 1)
    async with db.scope(alice) as s:
        (review,) = await s.feedback.list_pending(FeedbackKind.ANALYSIS_REVIEW)
    assert (review.task_id, review.call_id) == (tid, call.id)
    assert "analysis stopped before it finished" in review.question


async def test_another_nodes_claims_wait_for_their_lease(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    tid = await left_by_a_killed_node(db, alice, node_id="node-b")
    d = Dispatcher(db, settings(), RecordingRunner(db, live=False), clock=lambda: RESTART)
    assert await d.recover() == 0
    assert await state(db, alice, tid) == (TaskStatus.CLAIMED, "node-b", 1)


async def test_the_scheduler_takes_its_claims_back_when_it_starts(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    tid = await left_by_a_killed_node(db, alice)
    runner = RecordingRunner(db, live=False)
    d = Dispatcher(db, settings(), runner, clock=lambda: RESTART)
    part = SchedulerPart(db, d, safety_interval_s=3600, reap_interval_s=3600)
    await part.start()
    try:
        status, holder, _ = await state(db, alice, tid)
        assert (status, holder) == (TaskStatus.PENDING, None)
        assert runner.attempts == []  # due again after the retry delay, not at once
    finally:
        await part.stop()


@pytest.mark.parametrize(
    ("status", "holder", "expires", "expired_by", "held"),
    [
        (TaskStatus.CLAIMED, "node-a", NOON, None, True),
        (TaskStatus.ANALYZING, "node-a", NOON, None, True),
        (TaskStatus.CLAIMED, "node-b", NOON, None, False),  # another node's now
        (TaskStatus.PENDING, None, None, None, False),  # given back meanwhile
        (TaskStatus.CLAIMED, "node-a", NOON, RESTART, True),  # its lease ran out
        (TaskStatus.CLAIMED, "node-a", RESTART, NOON, False),  # renewed meanwhile
        (TaskStatus.CLAIMED, "node-a", None, NOON, False),
    ],
)
def test_what_the_reaper_may_still_settle(
    status: TaskStatus,
    holder: str | None,
    expires: dt.datetime | None,
    expired_by: dt.datetime | None,
    held: bool,
) -> None:
    task = Task(status=status, claimed_by=holder, lease_expires_at=expires)
    assert still_held(task, "node-a", expired_by=expired_by) is held
    assert still_held(None, "node-a", expired_by=None) is False
