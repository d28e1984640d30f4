"""The process's one transcript writer, on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event
from structlog.testing import capture_logs

from core.db import Database
from media.transcript_writer import TranscriptWriter
from tests.kit import make_call, make_campaign, make_task, make_user


async def seed_calls(db: Database, user_id: int, count: int) -> list[int]:
    """`count` call rows of one user; returns their ids."""
    campaign = await make_campaign(db, user_id)
    calls = [
        await make_call(
            db,
            user_id,
            task_id=(
                await make_task(
                    db,
                    user_id,
                    campaign_id=campaign.id,
                    target_name=f"T{n}",
                    phone=f"+1212555{n:04d}",
                )
            ).id,
            call_uuid=f"00000000-0000-4000-8000-{user_id:06d}{n:06d}",
        )
        for n in range(count)
    ]
    return [c.id for c in calls]


async def said(db: Database, user_id: int, call_id: int) -> list[tuple[str, str]]:
    async with db.scope(user_id) as s:
        call = await s.calls.require(call_id)
    return [(t["role"], t["text"]) for t in call.transcript]


@pytest.fixture
async def writer(db: Database) -> AsyncIterator[TranscriptWriter]:
    w = TranscriptWriter(db, batch_limit=3)
    yield w
    await w.aclose()


async def test_each_calls_order_holds_across_batches(
    db: Database, writer: TranscriptWriter
) -> None:
    user = await make_user(db, "alice")
    a, b = await seed_calls(db, user, 2)
    for n in range(10):  # queued before the task runs: four batches of at most three
        writer.write(user, a, "agent" if n % 2 else "callee", f"a{n}")
        writer.write(user, b, "agent", f"b{n}")
    writer.start()
    assert await writer.flush()
    assert [text for _, text in await said(db, user, a)] == [f"a{n}" for n in range(10)]
    assert [text for _, text in await said(db, user, b)] == [f"b{n}" for n in range(10)]
    assert (await said(db, user, a))[:2] == [("callee", "a0"), ("agent", "a1")]


async def test_a_batch_is_one_transaction_per_user_each_in_its_own_scope(db: Database) -> None:
    alice, bob = await make_user(db, "alice"), await make_user(db, "bob")
    (alice_call,), (bob_call,) = await seed_calls(db, alice, 1), await seed_calls(db, bob, 1)
    commits: list[object] = []

    def count(conn: object) -> None:
        commits.append(conn)

    event.listen(db.engine.sync_engine, "commit", count)
    writer = TranscriptWriter(db)
    for n in range(3):
        writer.write(alice, alice_call, "agent", f"alice {n}")
        writer.write(bob, bob_call, "agent", f"bob {n}")
    writer.start()
    try:
        assert await writer.flush()
    finally:
        event.remove(db.engine.sync_engine, "commit", count)
        await writer.aclose()
    assert len(commits) == 2  # six turns of two users: one transaction each
    assert [t for _, t in await said(db, alice, alice_call)] == ["alice 0", "alice 1", "alice 2"]
    assert [t for _, t in await said(db, bob, bob_call)] == ["bob 0", "bob 1", "bob 2"]


async def test_flush_waits_for_that_calls_turns_only(db: Database) -> None:
    user = await make_user(db, "alice")
    a, b = await seed_calls(db, user, 2)
    writer = TranscriptWriter(db, batch_limit=1)  # one transaction per turn: a slow writer
    try:
        assert await writer.flush(a)  # nothing queued for it: at once
        writer.write(user, a, "agent", "first")
        for n in range(20):
            writer.write(user, b, "callee", f"b{n}")
        assert not await writer.flush(a, timeout_s=1)  # not started: says so, does not hang
        writer.start()
        assert await writer.flush(a)
        assert not await writer.flush(b, timeout_s=0)  # b's turns, queued after a's, still wait
        assert await said(db, user, a) == [("agent", "first")]
        assert await writer.flush(b)
        assert len(await said(db, user, b)) == 20
    finally:
        await writer.aclose()


async def test_a_full_queue_drops_with_an_error_and_never_blocks(db: Database) -> None:
    user = await make_user(db, "alice")
    (call,) = await seed_calls(db, user, 1)
    writer = TranscriptWriter(db, max_queued=2)
    with capture_logs() as logs:
        started = time.monotonic()
        results = [writer.write(user, call, "agent", f"t{n}") for n in range(3)]
        assert time.monotonic() - started < 0.1
    assert results == [True, True, False]
    (dropped,) = [e for e in logs if e["log_level"] == "error"]
    assert dropped["event"] == "transcript writer behind; turn dropped"
    assert (dropped["user_id"], dropped["call_id"], dropped["role"]) == (user, call, "agent")
    assert "t2" not in str(dropped)  # what was said is not logged
    writer.start()
    await writer.aclose()
    assert [text for _, text in await said(db, user, call)] == ["t0", "t1"]


async def test_aclose_stores_what_is_queued_then_stops(db: Database) -> None:
    user = await make_user(db, "alice")
    (call,) = await seed_calls(db, user, 1)
    writer = TranscriptWriter(db, batch_limit=2)
    writer.start()
    for n in range(7):
        writer.write(user, call, "agent", f"t{n}")
    await writer.aclose()
    assert not writer.running
    assert [text for _, text in await said(db, user, call)] == [f"t{n}" for n in range(7)]


async def test_aclose_counts_what_it_could_not_store(db: Database) -> None:
    user = await make_user(db, "alice")
    (call,) = await seed_calls(db, user, 1)
    writer = TranscriptWriter(db)  # never started: nothing drains
    writer.write(user, call, "agent", "lost")
    with capture_logs() as logs:
        await writer.aclose(timeout_s=0.2)
    assert [(e["event"], e["turns"]) for e in logs] == [
        ("transcript writer closed; turns not stored", 1)
    ]
    assert await writer.flush(call)  # given up on, not pending for ever
    assert await said(db, user, call) == []


async def test_a_failed_write_is_logged_and_the_writer_goes_on(db: Database) -> None:
    alice, bob = await make_user(db, "alice"), await make_user(db, "bob")
    good, other = await seed_calls(db, alice, 2)
    writer = TranscriptWriter(db)
    with capture_logs() as logs:
        writer.write(alice, good, "agent", "before")
        writer.write(alice, 999_999, "agent", "no such call")
        writer.write(bob, good, "callee", "not bob's call")  # scoped: bob cannot reach it
        writer.write(alice, other, "agent", "a neighbour in the same transaction")
        writer.start()
        assert await writer.flush()
        writer.write(alice, good, "agent", "after")
        assert await writer.flush(good)
        await writer.aclose()
    assert await said(db, alice, good) == [("agent", "before"), ("agent", "after")]
    assert await said(db, alice, other) == [("agent", "a neighbour in the same transaction")]
    failed = [e for e in logs if e["log_level"] == "error"]
    assert sorted((e["user_id"], e["call_id"]) for e in failed) == [
        (alice, 999_999),
        (bob, good),
    ]
    assert all(e["event"] == "transcript turns not stored" and e["exc_info"] for e in failed)
