"""A live call's question, asked and awaited by the bridge's own code (`media.call_store`),
answered through `core.services.answer_item` as the Approvals tab does: the waiting call has
the answer within a second, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from core.db import Database, NotFound
from core.services import Reply, ServiceError, answer_item, inbox
from core.settings import Settings
from media.call_store import CallStore
from tests.core.services.seed import seed_campaign


def store(db: Database, database_url: str, user_id: int, call_id: int) -> CallStore:
    settings = Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    return CallStore(db, settings, user_id, call_id)


async def test_the_answer_reaches_the_waiting_call_within_a_second(
    db: Database, database_url: str, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    seeded = await seed_campaign(db, alice, "Dentists", live=True)
    call = store(db, database_url, alice, seeded.call_ids[-1])
    question = await call.ask_owner("Tuesday or Wednesday?", 30)
    (item,) = await inbox(db, alice)
    assert item.id == question and item.urgent and item.details == ()
    waiting = asyncio.create_task(call.wait_answer(question, 30))
    await asyncio.sleep(0.5)
    assert not waiting.done()
    with pytest.raises(NotFound):
        await answer_item(db, bob, question, Reply("Bob's answer"))
    answered = time.monotonic()
    await answer_item(db, alice, question, Reply("Tuesday, please"))
    assert await asyncio.wait_for(waiting, 5) == "Tuesday, please"
    assert time.monotonic() - answered < 1.0


async def test_a_question_the_call_gave_up_on_keeps_a_late_answer_for_the_next_call(
    db: Database, database_url: str, two_users: tuple[int, int], tmp_path: Path
) -> None:
    alice, _ = two_users
    seeded = await seed_campaign(db, alice, "Dentists", live=True)
    call = store(db, database_url, alice, seeded.call_ids[-1])
    question = await call.ask_owner("Tuesday or Wednesday?", 0.3)
    assert await call.wait_answer(question, 0.3, poll_s=0.05) is None
    assert await inbox(db, alice) == []
    late = await answer_item(db, alice, question, Reply("Tuesday"))
    assert "did not hear it" in late.message and "next call" in late.message
    with pytest.raises(ServiceError, match="has an answer already"):
        await answer_item(db, alice, question, Reply("too late"))
