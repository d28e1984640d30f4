"""One dispatch pass: claim due tasks, put each through the pre-dial gate, start the attempts.

Each attempt runs with a lease keeper (`core.scheduler.lease`); claims whose holder may be gone
are the reaper's (`core.scheduler.reaper`), and so are, at start, the claims this node's
previous run left (`recover`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from core.db import Claim, Database, utcnow
from core.domain import CampaignStatus, StopRule, StoredPlan, TaskResult, TaskStatus
from core.logging import get_logger
from core.rules import GateFacts, RetryPolicy, Verdict, Window, decide
from core.scheduler.lease import keep_lease
from core.scheduler.reaper import Reaper
from core.services.preferences import dialing_rules, load_preferences
from core.settings import Settings

log = get_logger("opendeep.scheduler")


class AttemptRunner(Protocol):
    """Places and carries one call attempt end to end (dial, talk, analyse, next step)."""

    def free_slots(self) -> int:
        """Calls this node may still start now (the concurrency limit, test mode included)."""
        ...

    async def run_attempt(self, claim: Claim, number: str) -> None:
        """Run the attempt; when it returns the task has left CLAIMED.

        Once `claim.lease.lost` is set the task is another's: finish the call, but leave the
        task's status alone.
        """
        ...

    async def is_call_live(self, call_uuid: str) -> bool | None:
        """Whether the PBX still has this call's channel; None when it cannot tell now."""
        ...

    async def was_dialled(
        self, call_uuid: str, placed_at: dt.datetime, now: dt.datetime
    ) -> bool | None:
        """Whether the PBX saw the Originate of the call whose row was written at `placed_at`
        (a node may die between the two); None when it cannot tell."""
        ...

    async def voice_problem(self) -> str | None:
        """Why a call's voice cannot start now (one line naming the setting), or None."""
        ...


@dataclass(slots=True)
class DispatchReport:
    claimed: int = 0
    dialled: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)
    blocked: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        runner: AttemptRunner,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        lease: dt.timedelta = dt.timedelta(minutes=5),
        retry: RetryPolicy | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._runner = runner
        self._clock = clock
        self._lease = lease
        self._retry = retry or RetryPolicy()
        self._attempts: dict[int, asyncio.Task[None]] = {}  # by task id
        self._lock = asyncio.Lock()
        self._reaper = Reaper(
            db,
            runner,
            node_id=self.node_id,
            lease=lease,
            retry=self._retry,
            clock=clock,
            running=self._attempts,
        )

    @property
    def node_id(self) -> str:
        return self._settings.effective_node_id

    @property
    def running(self) -> int:
        return len(self._attempts)

    async def tick(self) -> DispatchReport:
        """One pass; never raises for a single bad task (it is logged and left for the next)."""
        async with self._lock:
            return await self._tick()

    async def _tick(self) -> DispatchReport:
        report = DispatchReport()
        free = self._runner.free_slots()
        if free <= 0:
            return report
        now = self._clock()
        async with self._db.system() as system:
            claims = await system.claim_due(
                node_id=self.node_id, now=now, lease=self._lease, limit=free
            )
        report.claimed = len(claims)
        voice_problem = await self._voice_problem() if claims else None
        batch = {c.task_id for c in claims}
        started: Counter[int] = Counter()  # calls this pass started, by user
        for claim in claims:
            try:
                await self._gate_and_start(
                    claim, now, free - len(report.dialled), report, batch, started, voice_problem
                )
            except Exception:
                log.exception(
                    "dispatch failed; the lease reaper will return the task", task_id=claim.task_id
                )
        return report

    async def _voice_problem(self) -> str | None:
        """Asked once a pass (the answer is cached a few seconds), only when there is a call;
        a check that breaks holds the calls too (nobody is rung on a voice nobody checked)."""
        try:
            return await self._runner.voice_problem()
        except Exception:
            log.exception("the voice check failed")
            return "the voice check failed (see the node's log)"

    async def _gate_and_start(
        self,
        claim: Claim,
        now: dt.datetime,
        slots: int,
        report: DispatchReport,
        batch: set[int],
        started: Counter[int],
        voice_problem: str | None = None,
    ) -> None:
        s = self._settings
        # The user's own calling preferences (Settings tab), within the node's limits.
        rules = dialing_rules(s, await load_preferences(self._db, s, claim.user_id))
        async with self._db.scope(claim.user_id) as scope:
            task = await scope.tasks.require(claim.task_id)
            campaign = await scope.campaigns.require(task.campaign_id)
            dnd = await scope.dnd.blocking_list(task.phone_e164)
            first_success = campaign.stop_rule is StopRule.FIRST_SUCCESS
            in_progress = (
                await scope.tasks.in_progress_siblings(campaign.id, task_id=task.id)
                if first_success
                else 0
            )
            succeeded = first_success and await scope.tasks.sibling_succeeded(
                campaign.id, task_id=task.id
            )
            limits = StoredPlan.read(campaign.plan).constraints
            # Calls of this user already up, plus those this pass has just started.
            user_busy = (
                await scope.tasks.count_claimed(except_task_ids=batch) + started[claim.user_id]
            )
            window = Window(
                campaign.window_start or rules.window_start,
                campaign.window_end or rules.window_end,
                frozenset(limits.weekdays if limits else ()) or frozenset(range(7)),
            )
            verdict = decide(
                GateFacts(
                    now=now,
                    campaign_active=campaign.status is CampaignStatus.ACTIVE,
                    number=task.phone_e164,
                    zones=tuple(task.time_zones),
                    window=window,
                    on_user_dnc=dnd == "user",
                    on_global_dnc=dnd == "global",
                    attempts_made=task.attempts,
                    max_attempts=task.max_attempts,
                    slots_free=min(slots, rules.max_concurrent_calls - user_busy),
                    test_mode=rules.test_mode,
                    redirect_number=rules.redirect_number or s.app_test_mode_redirect_number,
                    first_success=first_success,
                    siblings_in_progress=in_progress,
                    sibling_succeeded=succeeded,
                    voice_problem=voice_problem,
                )
            )
            if verdict.verdict is Verdict.DEFER:
                await scope.tasks.set_status(task.id, TaskStatus.PENDING, due_at=verdict.at)
                report.deferred.append(task.id)
            elif verdict.verdict is Verdict.HOLD:
                await scope.tasks.set_status(
                    task.id, TaskStatus.PENDING, due_at=verdict.at or now + dt.timedelta(minutes=1)
                )
                if verdict.campaign_note and await scope.campaigns.set_status_reason(
                    campaign.id, verdict.campaign_note
                ):
                    log.warning(
                        "campaign not dialling", campaign_id=campaign.id, reason=verdict.reason
                    )
                report.held.append(task.id)
            elif verdict.verdict is Verdict.BLOCK:
                final = TaskStatus.CANCELLED if verdict.final == "cancelled" else TaskStatus.FAILED
                await scope.tasks.set_status(
                    task.id,
                    final,
                    last_outcome=verdict.reason[:32],
                    result=TaskResult(reason=verdict.reason),
                )
                report.blocked.append(task.id)
            else:
                await scope.tasks.record_attempt(task.id, claim.attempt)
                if campaign.status_reason:
                    await scope.campaigns.set_status_reason(campaign.id, None)  # dialling again
        log.info(
            "gate", task_id=claim.task_id, verdict=verdict.verdict.value, reason=verdict.reason
        )
        if verdict.verdict is Verdict.DIAL:
            assert verdict.number is not None
            report.dialled.append(claim.task_id)
            started[claim.user_id] += 1
            self._start(claim, verdict.number)

    def _start(self, claim: Claim, number: str) -> None:
        attempt = asyncio.create_task(
            self._run(claim, number), name=f"attempt-{claim.task_id}-{claim.attempt}"
        )
        self._attempts[claim.task_id] = attempt

        def forget(done: asyncio.Task[None]) -> None:
            if self._attempts.get(claim.task_id) is done:
                del self._attempts[claim.task_id]

        attempt.add_done_callback(forget)

    async def _run(self, claim: Claim, number: str) -> None:
        keeper = asyncio.create_task(
            keep_lease(self._db, claim, node_id=self.node_id, lease=self._lease, clock=self._clock),
            name=f"lease-{claim.task_id}-{claim.attempt}",
        )
        try:
            await self._runner.run_attempt(claim, number)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("attempt failed", task_id=claim.task_id, attempt=claim.attempt)
            if not await self._reaper.release(
                claim.user_id, claim.task_id, "technical_failure", holder=self.node_id
            ):
                log.warning(
                    "the failed attempt's task is no longer this node's; left to its holder",
                    task_id=claim.task_id,
                    attempt=claim.attempt,
                    lease_lost=claim.lease.why or None,
                )
        finally:
            keeper.cancel()

    async def recover(self) -> int:
        """At start: take back the claims this node (its `NODE_ID`) left when it stopped or died,
        their leases run out or not, instead of waiting out the leases.

        Each is reconciled as the reaper does (`reap`); those the PBX cannot judge yet, or whose
        call is still up, are looked at again by every reaper pass until they are settled.
        Returns how many tasks were given back.
        """
        await self._reaper.find_left_claims()
        return await self.reap()

    async def reap(self) -> int:
        """Return tasks whose lease expired (and this node's claims left from before its
        start, see `recover`); returns how many were released."""
        return await self._reaper.reap()

    async def stop(self, grace: float = 10.0) -> None:
        """Let running attempts finish for `grace` seconds, then cancel them."""
        if self._attempts:
            _, pending = await asyncio.wait(set(self._attempts.values()), timeout=grace)
            for attempt in pending:
                attempt.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
