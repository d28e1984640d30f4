"""Claiming due tasks is atomic: concurrent claimers never get the same task."""

from __future__ import annotations

import asyncio
import datetime as dt

from core.db import Database
from core.db.models import CampaignStatus
from core.db.system import Lease
from tests.kit import T0, make_campaign, make_task


async def _seed(db: Database, user_id: int, n: int, *, active: bool = True) -> int:
    """A campaign (active, or waiting for approval) of `n` tasks due a second before T0."""
    status = CampaignStatus.ACTIVE if active else CampaignStatus.PENDING_APPROVAL
    c = await make_campaign(db, user_id, status=status)
    for i in range(n):
        await make_task(
            db,
            user_id,
            campaign_id=c.id,
            target_name=f"t{i}",
            phone=f"+1212555{i:04d}",
            due_at=T0 - dt.timedelta(seconds=1),
        )
    return c.id


async def test_concurrent_claimers_never_share_a_task(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    await _seed(db, alice, 60)
    await _seed(db, bob, 60)
    await _seed(db, bob, 5, active=False)  # a campaign that is not active is never claimed

    async def claimer(node: str) -> list[int]:
        got: list[int] = []
        while True:
            async with db.system() as system:
                claims = await system.claim_due(
                    node_id=node, now=T0, lease=dt.timedelta(minutes=5), limit=7
                )
            if not claims:
                return got
            got.extend(c.task_id for c in claims)
            await asyncio.sleep(0)

    results = await asyncio.gather(*(claimer(f"node-{i}") for i in range(4)))
    every = [t for r in results for t in r]
    assert len(every) == len(set(every)) == 120
    async with db.system() as system:
        assert await system.next_due_at() is None
        assert await system.claim_due(node_id="x", now=T0, lease=dt.timedelta(1), limit=5) == []


async def test_future_tasks_wait_and_leases_expire(
    db: Database, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    later = T0 + dt.timedelta(hours=1)
    t = await make_task(db, alice, due_at=later)
    now = T0
    async with db.system() as system:
        assert (
            await system.claim_due(node_id="n", now=now, lease=dt.timedelta(seconds=30), limit=5)
            == []
        )
        assert await system.next_due_at() == later
        claims = await system.claim_due(
            node_id="n", now=later, lease=dt.timedelta(seconds=30), limit=5
        )
    assert [(c.user_id, c.task_id, c.attempt) for c in claims] == [(alice, t.id, 1)]
    held = Lease(alice, t.id, "n", later + dt.timedelta(seconds=30))
    async with db.system() as system:
        assert await system.expired_leases(later + dt.timedelta(seconds=10)) == []
        assert await system.expired_leases(later + dt.timedelta(seconds=31)) == [held]
        # a node's own claims, run out or not (what it takes back when it restarts)
        assert await system.claims_of("n") == [held]
        assert await system.claims_of("another node") == []


async def test_users_with_open_campaigns(db: Database, two_users: tuple[int, int]) -> None:
    alice, bob = two_users
    await _seed(db, alice, 1)
    await _seed(db, bob, 1, active=False)  # pending approval: not open yet
    async with db.system() as system:
        assert list(await system.users_with_open_campaigns()) == [alice]
    await _seed(db, bob, 1)
    async with db.system() as system:  # in the order of their ids, the same on every backend
        assert list(await system.users_with_open_campaigns()) == [alice, bob]
