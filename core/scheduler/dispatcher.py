"""One dispatch pass: claim due tasks, put each through the pre-dial gate, start the attempts.

And the lease reaper: a task whose lease ran out (its node died, or lost track of it) is first
reconciled against the PBX — is its call still up? — and only then retried, with a new attempt
number, so an attempt is never dialled twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from core.db import Claim, Database, utcnow
from core.db.models import CallOutcome, CallState, CampaignStatus, StopRule, TaskStatus
from core.logging import get_logger
from core.rules import GateFacts, RetryPolicy, Verdict, Window, decide
from core.services.preferences import dialing_rules, load_preferences
from core.settings import Settings

log = get_logger("opendeep.scheduler")


class AttemptRunner(Protocol):
    """Places and carries one call attempt end to end (dial, talk, analyse, next step)."""

    def free_slots(self) -> int:
        """Calls this node may still start now (the concurrency limit, test mode included)."""
        ...

    async def run_attempt(self, claim: Claim, number: str) -> None:
        """Run the attempt; when it returns the task has left CLAIMED."""
        ...

    async def is_call_live(self, call_uuid: str) -> bool | None:
        """Whether the PBX still has this call's channel; None when it cannot tell now."""
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
        self._attempts: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

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
            weekdays = (
                campaign.plan.get("constraints", {}).get("weekdays") if campaign.plan else None
            )
            # Calls of this user already up, plus those this pass has just started.
            user_busy = (
                await scope.tasks.count_claimed(except_task_ids=batch) + started[claim.user_id]
            )
            window = Window(
                campaign.window_start or rules.window_start,
                campaign.window_end or rules.window_end,
                frozenset(weekdays) if weekdays else frozenset(range(7)),
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
                    result={"reason": verdict.reason},
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
        self._attempts.add(attempt)
        attempt.add_done_callback(self._attempts.discard)

    async def _run(self, claim: Claim, number: str) -> None:
        keeper = asyncio.create_task(self._keep_lease(claim))
        try:
            await self._runner.run_attempt(claim, number)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("attempt failed", task_id=claim.task_id, attempt=claim.attempt)
            await self._after_failure(claim.user_id, claim.task_id, "technical_failure")
        finally:
            keeper.cancel()

    async def _keep_lease(self, claim: Claim) -> None:
        period = max(self._lease.total_seconds() / 3, 1.0)
        while True:
            await asyncio.sleep(period)
            async with self._db.scope(claim.user_id) as scope:
                await scope.tasks.extend_lease(
                    claim.task_id, node_id=self.node_id, until=self._clock() + self._lease
                )

    async def _after_failure(self, user_id: int, task_id: int, outcome: str) -> None:
        now = self._clock()
        async with self._db.scope(user_id) as scope:
            task = await scope.tasks.require(task_id)
            if task.status is not TaskStatus.CLAIMED:
                return
            nxt = self._retry.next_attempt(
                outcome, attempts_made=task.attempts, max_attempts=task.max_attempts, now=now
            )
            if nxt.retry:
                await scope.tasks.set_status(
                    task_id, TaskStatus.PENDING, due_at=nxt.at, last_outcome=outcome
                )
            else:
                await scope.tasks.set_status(task_id, TaskStatus.FAILED, last_outcome=outcome)

    async def reap(self) -> int:
        """Return tasks whose lease expired; returns how many were released."""
        now = self._clock()
        async with self._db.system() as system:
            expired = await system.expired_leases(now)
        released = 0
        for user_id, task_id in expired:
            async with self._db.scope(user_id) as scope:
                calls = await scope.calls.list_for_task(task_id)
                task = await scope.tasks.require(task_id)
                last = calls[-1] if calls else None
                if task.attempts > (last.attempt if last else 0):
                    # The attempt was counted but its call row was never written, and the row
                    # is written before any Originate: nothing was dialled. Give it back.
                    await scope.tasks.record_attempt(task_id, task.attempts - 1)
                    await scope.tasks.set_status(task_id, TaskStatus.PENDING, due_at=now)
                    log.warning("lease expired before dialling; task returned", task_id=task_id)
                    released += 1
                    continue
            if last is not None and last.state is not CallState.ENDED:
                # Our PBX may be the one the call is on (ours, or shared with a dead node).
                live = await self._runner.is_call_live(last.call_uuid)
                mine = last.node_id == self.node_id
                if live is None and mine:
                    continue  # cannot tell now (PBX unreachable): look again next pass
                if live:
                    if mine:
                        async with self._db.scope(user_id) as scope:
                            await scope.tasks.extend_lease(
                                task_id, node_id=self.node_id, until=now + self._lease
                            )
                    continue  # still talking: never dial it again meanwhile
                async with self._db.scope(user_id) as scope:
                    await scope.calls.set_progress(
                        last.id,
                        state=CallState.ENDED,
                        outcome=CallOutcome.TECHNICAL_FAILURE,
                        ended_at=now,
                    )
            log.warning("lease expired; task returned", task_id=task_id, user_id=user_id)
            await self._after_failure(user_id, task_id, "technical_failure")
            released += 1
        return released

    async def stop(self, grace: float = 10.0) -> None:
        """Let running attempts finish for `grace` seconds, then cancel them."""
        if self._attempts:
            _, pending = await asyncio.wait(set(self._attempts), timeout=grace)
            for attempt in pending:
                attempt.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
