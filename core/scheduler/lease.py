"""Keeping a claimed task's lease while its attempt runs, and noticing when it is lost.

A lease is renewed every third of its length. A renewal that fails (the database is away for a
moment) is logged and tried again at the next turn: the keeper does not die of it (it used to,
silently, and the lease then ran out under a call still in progress). A renewal that
finds the task no longer this node's ends the keeping: either the attempt moved the task on
itself (the usual end), or the task was taken — the lease ran out and a reaper gave it back, or
another node claimed it. Only the second is a lost lease: the claim is marked (`Claim.lease`),
so the attempt finishes its call but leaves the task to its new holder.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from core.db import Claim, Database
from core.domain import TaskStatus
from core.logging import get_logger

log = get_logger("opendeep.scheduler")

MIN_RENEW_EVERY_S = 0.1


def renew_every(lease: dt.timedelta) -> float:
    """Seconds between renewals: a third of the lease, so two can fail before it runs out."""
    return max(lease.total_seconds() / 3, MIN_RENEW_EVERY_S)


def why_lost(
    *,
    node_id: str,
    attempt: int,
    held_until: dt.datetime,
    now: dt.datetime,
    status: TaskStatus | None,
    claimed_by: str | None,
    attempts: int,
) -> str | None:
    """Why a task this node no longer holds was taken from it, or None when nothing says it
    was (its own attempt moved it on: the renewal came while the lease still ran, and no other
    claim or attempt followed). `status` None: the task is gone."""
    if status is None:
        return "the task no longer exists"
    if claimed_by is not None and claimed_by != node_id:
        return f"node {claimed_by} claimed the task"
    if attempts > attempt:
        return f"attempt {attempts} of the task was started elsewhere"
    if now >= held_until:
        return "the lease ran out before it could be renewed (a reaper may have taken it)"
    return None


async def keep_lease(
    db: Database,
    claim: Claim,
    *,
    node_id: str,
    lease: dt.timedelta,
    clock: Callable[[], dt.datetime],
) -> None:
    """Renew `node_id`'s lease on the claimed task until cancelled, or until the task is no
    longer this node's (then `claim.lease` says whether it was lost, and why)."""
    held_until = claim.lease_expires_at
    context = {"user_id": claim.user_id, "task_id": claim.task_id, "attempt": claim.attempt}
    while True:
        await asyncio.sleep(renew_every(lease))
        try:
            now = clock()
            async with db.scope(claim.user_id) as scope:
                renewed = await scope.tasks.extend_lease(
                    claim.task_id, node_id=node_id, until=now + lease
                )
                task = None if renewed else await scope.tasks.get(claim.task_id)
        except Exception:  # the keeper must outlive a failed renewal: it is logged, and retried
            log.exception("lease renewal failed; trying again", held_until=held_until, **context)
            continue
        if renewed:
            if now >= held_until:
                log.warning("lease renewed after it had run out", **context)
            held_until = now + lease
            continue
        why = why_lost(
            node_id=node_id,
            attempt=claim.attempt,
            held_until=held_until,
            now=now,
            status=task.status if task else None,
            claimed_by=task.claimed_by if task else None,
            attempts=task.attempts if task else 0,
        )
        if why is None:
            log.debug("lease released by its attempt", **context)
        else:
            claim.lease.lose(why)
            log.warning(
                "lease lost: the call goes on, but the task is no longer this node's",
                why=why,
                **context,
            )
        return
