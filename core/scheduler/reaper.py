"""The lease reaper: settles claims whose holder may be gone, after asking the PBX.

A task whose lease ran out (its node died, or lost track of it) is first reconciled against the
PBX — is its call still up? — and only then retried, with a new attempt number, so an attempt
is never dialled twice. An attempt whose call row was written but whose Originate the PBX never
saw (the node died in between) is given back uncounted, so no task is lost to it. A task whose call had ended and was being analysed goes to its owner
as a review instead (the call happened: dialling again would only guess). A node restarted
under the same `NODE_ID` does the same at once for the claims its previous run left, expired or
not (`find_left_claims`, then `reap`). Every change is made only while the holder seen still
holds the task: another node may have settled it since.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Container
from typing import Literal, Protocol

from core.db import Database
from core.db.models import Call, Task
from core.db.system import LEASED_STATUSES, Lease
from core.domain import CallOutcome, CallState, TaskStatus
from core.logging import get_logger
from core.rules import RetryPolicy
from core.services.tasks import ask_owner_about_call

log = get_logger("opendeep.scheduler")

Settled = Literal["released", "kept", "unknown", "gone"]
STOPPED = "its analysis stopped before it finished (the node analysing it stopped or failed)"


class CallProbe(Protocol):
    async def is_call_live(self, call_uuid: str) -> bool | None:
        """Whether the PBX still has this call's channel; None when it cannot tell now."""
        ...

    async def was_dialled(
        self, call_uuid: str, placed_at: dt.datetime, now: dt.datetime
    ) -> bool | None:
        """Whether the PBX saw the Originate of the call whose row was written at `placed_at`
        (a node may die between the two); None when it cannot tell."""
        ...


def still_held(task: Task | None, holder: str | None, *, expired_by: dt.datetime | None) -> bool:
    """Whether `holder` still holds the task (and, with `expired_by`, its lease ran out before
    then): what the reaper saw may have changed before it acts."""
    if task is None or task.status not in LEASED_STATUSES or task.claimed_by != holder:
        return False
    return expired_by is None or (
        task.lease_expires_at is not None and task.lease_expires_at < expired_by
    )


class Reaper:
    """`running`: the task ids this node's attempts hold right now (their claims are alive)."""

    def __init__(
        self,
        db: Database,
        probe: CallProbe,
        *,
        node_id: str,
        lease: dt.timedelta,
        retry: RetryPolicy,
        clock: Callable[[], dt.datetime],
        running: Container[int],
    ) -> None:
        self._db = db
        self._probe = probe
        self._node_id = node_id
        self._lease = lease
        self._retry = retry
        self._clock = clock
        self._running = running
        # Claims this node's previous run left, still to be settled.
        self._left: set[int] = set()

    async def find_left_claims(self) -> None:
        """Note the claims this node holds that none of its attempts runs: its previous run's."""
        async with self._db.system() as system:
            held = [c.task_id for c in await system.claims_of(self._node_id)]
        self._left = {task_id for task_id in held if task_id not in self._running}
        if self._left:
            log.warning(
                "taking back the claims this node left before it started",
                node_id=self._node_id,
                task_ids=sorted(self._left),
            )

    async def reap(self) -> int:
        """Settle the expired leases and this node's left claims; returns how many tasks were
        given back."""
        now = self._clock()
        async with self._db.system() as system:
            leases = {lease.task_id: lease for lease in await system.expired_leases(now)}
            if self._left:
                for lease in await system.claims_of(self._node_id):
                    if lease.task_id in self._left:
                        leases.setdefault(lease.task_id, lease)
        released = 0
        unsettled: set[int] = set()
        for lease in leases.values():
            try:
                settled = await self._settle(lease, now)
            except Exception:
                log.exception("reconciling a lease failed", task_id=lease.task_id)
                settled = "unknown"
            if settled == "released":
                released += 1
            elif settled in ("kept", "unknown") and lease.task_id in self._left:
                unsettled.add(lease.task_id)
        self._left &= unsettled
        return released

    async def _settle(self, lease: Lease, now: dt.datetime) -> Settled:
        """Give back an attempt never dialled, keep one whose call is still up, end and retry
        one whose call is gone."""
        mine = lease.node_id == self._node_id
        if mine and lease.task_id in self._running:
            # An attempt of this run holds it (its keeper could not renew for a while).
            await self._extend(lease, now)
            return "kept"
        left = mine and lease.task_id in self._left
        expired_by = None if left else now  # a left claim is taken back unexpired
        async with self._db.scope(lease.user_id) as scope:
            task = await scope.tasks.get(lease.task_id)
            if task is None or not still_held(task, lease.node_id, expired_by=expired_by):
                return "gone"  # settled meanwhile (renewed, reaped elsewhere, moved on)
            calls = await scope.calls.list_for_task(lease.task_id)
            last = calls[-1] if calls else None
            if task.status is TaskStatus.ANALYZING:
                await ask_owner_about_call(scope, task.id, last.id if last else None, STOPPED)
                log.warning("analysis cut off; the owner reviews the call", task_id=task.id)
                return "released"
            if task.attempts > (last.attempt if last else 0):
                # The attempt was counted but its call row was never written, and the row
                # is written before any Originate: nothing was dialled. Give it back.
                await scope.tasks.record_attempt(task.id, task.attempts - 1)
                await scope.tasks.set_status(task.id, TaskStatus.PENDING, due_at=now)
                log.warning("claim ended before dialling; task returned", task_id=task.id)
                return "released"
        end_call_id = None
        if last is not None and last.state is not CallState.ENDED:
            # Our PBX may be the one the call is on (ours, or shared with a dead node).
            live = await self._probe.is_call_live(last.call_uuid)
            if live is None and mine:
                return "unknown"  # cannot tell now (PBX unreachable): look again next pass
            if live:
                if mine:
                    await self._extend(lease, now)
                return "kept"  # still talking: never dial it again meanwhile
            if last.state is CallState.ORIGINATING:
                undialled = await self._give_back_undialled(lease, last, expired_by, now)
                if undialled is not None:
                    return undialled
            end_call_id = last.id
        if not await self.release(
            lease.user_id,
            lease.task_id,
            "technical_failure",
            holder=lease.node_id,
            expired_by=expired_by,
            end_call_id=end_call_id,
        ):
            return "gone"
        log.warning(
            "claim left from before this node started; task returned"
            if left
            else "lease expired; task returned",
            task_id=lease.task_id,
            user_id=lease.user_id,
            node_id=lease.node_id,
        )
        return "released"

    async def _give_back_undialled(
        self, lease: Lease, call: Call, expired_by: dt.datetime | None, now: dt.datetime
    ) -> Settled | None:
        """Give back, uncounted, an attempt whose row was written but whose Originate never
        reached the PBX (its node stopped in between; the dialplan marks every Originate that
        arrives, see `telephony.dial_marks`): its row goes and the task is due again. None,
        changing nothing, unless the PBX says so for certain."""
        if await self._probe.was_dialled(call.call_uuid, call.created_at, now) is not False:
            return None
        async with self._db.scope(lease.user_id) as scope:
            task = await scope.tasks.get(lease.task_id)
            if task is None or not still_held(task, lease.node_id, expired_by=expired_by):
                return "gone"
            if not await scope.calls.forget_undialled(call.id):
                return None  # the call moved on meanwhile: settle it as a call
            await scope.tasks.record_attempt(task.id, call.attempt - 1)
            await scope.tasks.set_status(task.id, TaskStatus.PENDING, due_at=now)
        log.warning(
            "attempt never reached the PBX (its node stopped before dialling); task returned",
            task_id=lease.task_id,
            user_id=lease.user_id,
            node_id=lease.node_id,
            attempt=call.attempt,
        )
        return "released"

    async def release(
        self,
        user_id: int,
        task_id: int,
        outcome: str,
        *,
        holder: str | None,
        expired_by: dt.datetime | None = None,
        end_call_id: int | None = None,
    ) -> bool:
        """Retry or fail a task `holder` still holds (see `still_held`), first ending the call
        `end_call_id` as a technical failure; a task whose call is being analysed goes to the
        owner instead. False, changing nothing, when the task is not held so."""
        now = self._clock()
        async with self._db.scope(user_id) as scope:
            task = await scope.tasks.get(task_id)
            if task is None or not still_held(task, holder, expired_by=expired_by):
                return False
            if task.status is TaskStatus.ANALYZING:
                calls = await scope.calls.list_for_task(task_id)
                await ask_owner_about_call(scope, task_id, calls[-1].id if calls else None, STOPPED)
                return True
            if end_call_id is not None:
                await scope.calls.set_progress(
                    end_call_id,
                    state=CallState.ENDED,
                    outcome=CallOutcome.TECHNICAL_FAILURE,
                    ended_at=now,
                )
            nxt = self._retry.next_attempt(
                outcome, attempts_made=task.attempts, max_attempts=task.max_attempts, now=now
            )
            if nxt.retry:
                await scope.tasks.set_status(
                    task_id, TaskStatus.PENDING, due_at=nxt.at, last_outcome=outcome
                )
            else:
                await scope.tasks.set_status(task_id, TaskStatus.FAILED, last_outcome=outcome)
        return True

    async def _extend(self, lease: Lease, now: dt.datetime) -> None:
        async with self._db.scope(lease.user_id) as scope:
            await scope.tasks.extend_lease(
                lease.task_id, node_id=self._node_id, until=now + self._lease
            )
