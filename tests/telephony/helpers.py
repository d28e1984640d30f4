"""Shared helpers of the telephony tests: database rows."""

from __future__ import annotations

from core.db import Database
from core.db.models import Call
from tests.kit import make_task


async def new_task(db: Database, user_id: int, phone: str = "+12125550101") -> int:
    """The id of a task (of a fresh active campaign of `user_id`) to call `phone`."""
    return (await make_task(db, user_id, target_name="Callee", phone=phone)).id


async def call_row(db: Database, user_id: int, call_id: int) -> Call:
    async with db.scope(user_id) as scope:
        return await scope.calls.require(call_id)
