"""The dispatcher over a real database (SQLite and PostgreSQL), with a recording attempt runner.

The runner here stands for the telephony + media + analysis path, which has its own tests
against the real PBX; these tests are about what the dispatcher lets through and when.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from core.db import Claim, Database
from core.db.models import CallState, CampaignStatus, StopRule, TaskStatus
from core.scheduler import Dispatcher
from core.settings import Settings
from tests.kit import make_call, make_campaign, make_task, until

NY = ZoneInfo("America/New_York")
# The dispatcher's clock in these tests: a Tuesday noon in New York, inside the default calling
# window, whatever the date and hour the suite runs at. Seeded rows are due by this clock too.
NOON = dt.datetime(2026, 12, 1, 12, 0, tzinfo=NY)


def clock() -> dt.datetime:
    return NOON


class RecordingRunner:
    def __init__(
        self,
        db: Database,
        slots: int = 4,
        live: bool | None = False,
        marked: bool | None = None,
    ) -> None:
        self.db = db
        self.slots = slots
        self.live = live
        # The PBX's mark of an Originate (`was_dialled`); None: it cannot tell.
        self.marked = marked
        self.asked_dialled: list[tuple[str, dt.datetime]] = []
        self.attempts: list[tuple[int, int, str]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.problem: str | None = None

    def free_slots(self) -> int:
        return self.slots

    async def run_attempt(self, claim: Claim, number: str) -> None:
        self.attempts.append((claim.task_id, claim.attempt, number))
        await self.release.wait()
        async with self.db.scope(claim.user_id) as s:
            await s.tasks.set_status(claim.task_id, TaskStatus.COMPLETED, last_outcome="answered")

    async def is_call_live(self, call_uuid: str) -> bool | None:
        return self.live

    async def was_dialled(
        self, call_uuid: str, placed_at: dt.datetime, now: dt.datetime
    ) -> bool | None:
        self.asked_dialled.append((call_uuid, now))
        return self.marked

    async def voice_problem(self) -> str | None:
        return self.problem


def settings(**kw: object) -> Settings:
    base: dict[str, object] = {"app_test_mode": False, "node_id": "node-a"}
    base.update(kw)
    return Settings(**base)  # type: ignore[arg-type]


async def seed(
    db: Database, user_id: int, numbers: list[str], *, active: bool = True, max_attempts: int = 3
) -> list[int]:
    """Tasks calling `numbers` in New York, due a second before `clock()`; returns their ids."""
    status = CampaignStatus.ACTIVE if active else CampaignStatus.PENDING_APPROVAL
    c = await make_campaign(db, user_id, status=status, max_attempts=max_attempts)
    tasks = [
        await make_task(
            db,
            user_id,
            campaign_id=c.id,
            target_name=n,
            phone=n,
            due_at=clock() - dt.timedelta(seconds=1),
            max_attempts=max_attempts,
        )
        for n in numbers
    ]
    return [t.id for t in tasks]


async def drain(d: Dispatcher) -> None:
    await until(lambda: d.running == 0, 5, "the dispatcher's attempts to end")


async def test_dials_due_tasks_within_the_window(db: Database, two_users: tuple[int, int]) -> None:
    alice, _ = two_users
    ids = await seed(db, alice, ["+12125550101", "+12125550102"])
    runner = RecordingRunner(db)
    d = Dispatcher(db, settings(), runner, clock=clock)
    report = await d.tick()
    await drain(d)
    assert sorted(report.dialled) == ids
    assert sorted(runner.attempts) == [(ids[0], 1, "+12125550101"), (ids[1], 1, "+12125550102")]
    async with db.scope(alice) as s:
        assert [(await s.tasks.require(t)).attempts for t in ids] == [1, 1]


async def test_test_mode_redirects_and_calls_one_at_a_time(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    ids = await seed(db, alice, ["+12125550102", "+12125550103"])
    runner = RecordingRunner(db, slots=4)
    runner.release.clear()
    d = Dispatcher(db, settings(app_test_mode=True), runner, clock=clock)
    report = await d.tick()
    assert report.dialled == [ids[0]]
    assert report.deferred == [ids[1]]
    assert [n for _, _, n in runner.attempts] == ["+12125550101"]
    runner.release.set()
    await drain(d)


async def test_a_number_on_dnc_never_reaches_the_runner(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    (tid,) = await seed(db, alice, ["+12125550108"])
    async with db.scope(alice) as s:
        await s.dnd.add("+12125550108")
    runner = RecordingRunner(db)
    d = Dispatcher(db, settings(app_test_mode=True), runner, clock=clock)
    report = await d.tick()
    assert report.blocked == [tid]
    assert runner.attempts == []
    async with db.scope(alice) as s:
        task = await s.tasks.require(tid)
    assert task.status is TaskStatus.CANCELLED
    assert "Do-Not-Call" in task.result["reason"]


async def test_outside_the_window_the_task_moves_to_the_next_opening(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    (tid,) = await seed(db, alice, ["+12125550101"])
    late = dt.datetime(2099, 12, 1, 22, 30, tzinfo=NY)
    runner = RecordingRunner(db)
    report = await Dispatcher(db, settings(), runner, clock=lambda: late).tick()
    assert report.deferred == [tid]
    assert runner.attempts == []
    async with db.scope(alice) as s:
        task = await s.tasks.require(tid)
    assert task.status is TaskStatus.PENDING
    assert task.due_at == dt.datetime(2099, 12, 2, 8, 0, tzinfo=NY)
    assert task.attempts == 0


async def test_no_attempts_left_fails_the_task(db: Database, two_users: tuple[int, int]) -> None:
    alice, _ = two_users
    (tid,) = await seed(db, alice, ["+12125550103"], max_attempts=1)
    async with db.scope(alice) as s:
        await s.tasks.record_attempt(tid, 1)
    runner = RecordingRunner(db)
    report = await Dispatcher(db, settings(), runner, clock=clock).tick()
    assert report.blocked == [tid]
    async with db.scope(alice) as s:
        assert (await s.tasks.require(tid)).status is TaskStatus.FAILED


async def test_only_as_many_as_free_slots_are_claimed(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    await seed(db, alice, [f"+1212555{i:04d}" for i in range(110, 116)])
    runner = RecordingRunner(db, slots=2)
    runner.release.clear()
    d = Dispatcher(db, settings(), runner, clock=clock)
    report = await d.tick()
    assert report.claimed == 2
    assert len(report.dialled) == 2
    runner.release.set()
    await drain(d)


async def test_paused_campaign_is_not_claimed(db: Database, two_users: tuple[int, int]) -> None:
    alice, _ = two_users
    await seed(db, alice, ["+12125550101"], active=False)
    runner = RecordingRunner(db)
    report = await Dispatcher(db, settings(), runner, clock=clock).tick()
    assert report.claimed == 0


@pytest.mark.parametrize("live", [True, False])
async def test_lease_reaper_reconciles_before_retrying(
    db: Database, two_users: tuple[int, int], live: bool
) -> None:
    alice, _ = two_users
    (tid,) = await seed(db, alice, ["+12125550101"])
    now = clock()
    async with db.system() as system:
        (claim,) = await system.claim_due(
            node_id="node-a", now=now, lease=dt.timedelta(seconds=1), limit=1
        )
    async with db.scope(alice) as s:
        await s.tasks.record_attempt(tid, claim.attempt)
    await make_call(
        db,
        alice,
        task_id=tid,
        call_uuid="11111111-1111-4111-8111-111111111111",
        node_id="node-a",
    )
    runner = RecordingRunner(db, live=live)
    later = now + dt.timedelta(seconds=5)
    d = Dispatcher(db, settings(), runner, clock=lambda: later)
    released = await d.reap()
    async with db.scope(alice) as s:
        task = await s.tasks.require(tid)
        (call,) = await s.calls.list_for_task(tid)
    if live:
        assert released == 0
        assert task.status is TaskStatus.CLAIMED
        assert task.lease_expires_at is not None and task.lease_expires_at > later
        assert call.state is CallState.ORIGINATING
    else:
        assert released == 1
        assert task.status is TaskStatus.PENDING
        assert task.last_outcome == "technical_failure"
        assert call.state is CallState.ENDED
        # the next claim carries a new attempt number: attempt 1 is never dialled again
        async with db.system() as system:
            (again,) = await system.claim_due(
                node_id="node-b", now=task.due_at, lease=dt.timedelta(minutes=1), limit=1
            )
        assert again.attempt == 2


async def test_the_users_own_preferences_are_applied(
    db: Database, two_users: tuple[int, int]
) -> None:
    from core.services.preferences import Preferences, save_preferences

    alice, bob = two_users
    s = settings()
    wanted = Preferences.defaults(s).model_dump(mode="json")
    wanted.update(test_mode=True, test_redirect_number="+12125550109", max_concurrent_calls=1)
    await save_preferences(db, s, alice, wanted)
    a_ids = await seed(db, alice, ["+12125550102", "+12125550103"])
    b_ids = await seed(db, bob, ["+12125550104"])
    runner = RecordingRunner(db, slots=4)
    runner.release.clear()
    d = Dispatcher(db, s, runner, clock=clock)
    report = await d.tick()
    # Alice: test mode redirects to her number, and one call at a time; Bob: node defaults.
    assert sorted(report.dialled) == sorted([a_ids[0], b_ids[0]])
    assert report.deferred == [a_ids[1]]
    await asyncio.sleep(0.05)  # let the started attempts reach the runner
    dialled = {task: number for task, _, number in runner.attempts}
    assert dialled == {a_ids[0]: "+12125550109", b_ids[0]: "+12125550104"}
    runner.release.set()
    await drain(d)


async def test_an_attempt_counted_but_never_placed_is_given_back(
    db: Database, two_users: tuple[int, int]
) -> None:
    """A node that died between the gate and writing the call row dialled nothing."""
    alice, _ = two_users
    (tid,) = await seed(db, alice, ["+12125550101"], max_attempts=1)
    now = clock()
    async with db.system() as system:
        (claim,) = await system.claim_due(
            node_id="dead", now=now, lease=dt.timedelta(seconds=1), limit=1
        )
    async with db.scope(alice) as s:
        await s.tasks.record_attempt(tid, claim.attempt)  # the gate said dial; then SIGKILL
    d = Dispatcher(db, settings(), RecordingRunner(db), clock=lambda: now + dt.timedelta(seconds=5))
    assert await d.reap() == 1
    async with db.scope(alice) as s:
        task = await s.tasks.require(tid)
    assert task.status is TaskStatus.PENDING
    assert task.attempts == 0  # its only attempt is still there to be made


async def seed_first_success(db: Database, user_id: int, *, goal_achieved: bool) -> int:
    """A first-success campaign: one task completed (with the goal achieved or not) and one
    sibling due now; returns the sibling's id."""
    outcome = "achieved" if goal_achieved else "refused"
    c = await make_campaign(db, user_id, stop_rule=StopRule.FIRST_SUCCESS)
    await make_task(
        db,
        user_id,
        campaign_id=c.id,
        target_name="a",
        phone="+12125550101",
        time_zones=(),
        status=TaskStatus.COMPLETED,
        last_outcome=outcome,
        result={"outcome": outcome, "reason": "r", "goal_achieved": goal_achieved},
    )
    sibling = await make_task(
        db,
        user_id,
        campaign_id=c.id,
        target_name="b",
        phone="+12125550103",
        due_at=clock() - dt.timedelta(seconds=1),
    )
    return sibling.id


async def test_a_claim_in_a_first_success_campaign_that_has_succeeded_is_cancelled(
    db: Database, two_users: tuple[int, int]
) -> None:
    """The stop rule's sibling cancellation skips a task a dispatcher holds claimed; the gate
    must then stop it (seen in the end-to-end test: the sibling was dialled anyway)."""
    alice, _ = two_users
    sibling = await seed_first_success(db, alice, goal_achieved=True)
    runner = RecordingRunner(db)
    d = Dispatcher(db, settings(), runner, clock=clock)
    report = await d.tick()
    await drain(d)
    assert runner.attempts == []
    assert report.blocked == [sibling]
    async with db.scope(alice) as s:
        task = await s.tasks.require(sibling)
    assert task.status is TaskStatus.CANCELLED
    assert "another call already succeeded" in task.result["reason"]


async def test_a_completed_sibling_without_success_does_not_stop_a_first_success_campaign(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    sibling = await seed_first_success(db, alice, goal_achieved=False)
    runner = RecordingRunner(db)
    d = Dispatcher(db, settings(), runner, clock=clock)
    report = await d.tick()
    await drain(d)
    assert report.dialled == [sibling]


async def test_a_voice_that_cannot_start_holds_the_calls_and_says_why(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    (tid,) = await seed(db, alice, ["+12125550101"])
    runner = RecordingRunner(db)
    runner.problem = "OPENAI_API_KEY is empty"
    d = Dispatcher(db, settings(), runner, clock=clock)
    report = await d.tick()
    assert report.held == [tid]
    assert runner.attempts == []
    async with db.scope(alice) as s:
        task = await s.tasks.require(tid)
        campaign = await s.campaigns.require(task.campaign_id)
    assert task.status is TaskStatus.PENDING
    assert task.attempts == 0
    assert task.due_at is not None and task.due_at > clock()
    assert campaign.status_reason is not None
    assert "OPENAI_API_KEY is empty" in campaign.status_reason

    # The voice is back: the held call is dialled at its new time and the banner goes.
    runner.problem = None
    later = task.due_at + dt.timedelta(seconds=1)
    report = await Dispatcher(db, settings(), runner, clock=lambda: later).tick()
    await drain(d)
    assert report.dialled == [tid]
    async with db.scope(alice) as s:
        assert (await s.campaigns.require(campaign.id)).status_reason is None
