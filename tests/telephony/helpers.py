"""Shared helpers of the telephony tests: database rows and waiting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from core.db import Database
from core.db.models import Call, CampaignStatus


async def make_task(db: Database, user_id: int, phone: str = "+12125550101") -> int:
    """A task of a fresh active campaign of `user_id`."""
    async with db.scope(user_id) as scope:
        campaign = await scope.campaigns.create(
            idempotency_key=uuid.uuid4().hex,
            name="Telephony test",
            objective="test calls",
            status=CampaignStatus.ACTIVE,
        )
        task = await scope.tasks.add(
            campaign_id=campaign.id, target_name="Callee", phone_e164=phone
        )
        return task.id


async def call_row(db: Database, user_id: int, call_id: int) -> Call:
    async with db.scope(user_id) as scope:
        return await scope.calls.require(call_id)


async def until(check: Callable[[], object], timeout_s: float = 5.0, step_s: float = 0.01) -> None:
    """Wait until `check()` is true; fail with a TimeoutError after `timeout_s`."""
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(step_s)
