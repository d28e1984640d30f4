"""The call's database side on real SQLite and PostgreSQL: facts and transcript turns written
at the same moment all land; the callee's voice activity is stored; another user's call is out
of reach."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from agents.call_agent import call_script
from core.db import Database, NotFound
from core.domain import TranscriptTurn, TurnRole, VoiceActivityRecord, read_items
from core.settings import Settings
from media.call_store import CallStore
from tests.kit import make_call, make_campaign, make_task, make_user
from tests.media.test_bridge import seed_call


async def test_facts_recorded_at_the_same_moment_all_land(db: Database) -> None:
    """Several `record_fact` calls of one response run at once, each in its own transaction
    on its own connection: none may overwrite another's append."""
    seeded = await seed_call(db)
    stores = [CallStore(db, Settings(), seeded.user_id, seeded.call_id) for _ in range(12)]
    await asyncio.gather(
        *(store.add_fact(f"fact-{i}", f"value {i}", f"quote {i}") for i, store in enumerate(stores))
    )
    async with db.scope(seeded.user_id) as s:
        facts = (await s.calls.require(seeded.call_id)).facts
    assert sorted(f["name"] for f in facts) == sorted(f"fact-{i}" for i in range(12))
    fact = next(f for f in facts if f["name"] == "fact-3")
    assert (fact["value"], fact["quote"]) == ("value 3", "quote 3")
    assert fact["at"]  # when it was recorded


async def test_turns_appended_at_the_same_moment_all_land(db: Database) -> None:
    """Batches of turns of one call stored at once (two writers, a retry beside a batch), each
    in its own transaction: every turn lands, each batch in its order."""
    seeded = await seed_call(db)
    at = dt.datetime(2025, 3, 4, 9, 30, tzinfo=dt.UTC)

    async def append(batch: int) -> None:
        turns = [TranscriptTurn(role=TurnRole.CALLEE, text=f"{batch}.{n}", at=at) for n in range(3)]
        async with db.scope(seeded.user_id) as s:
            await s.calls.append_turns(seeded.call_id, turns)

    await asyncio.gather(*(append(batch) for batch in range(12)))
    async with db.scope(seeded.user_id) as s:
        stored = (await s.calls.require(seeded.call_id)).transcript
    said = [t.text for t in read_items(TranscriptTurn, stored)]
    assert sorted(said) == sorted(f"{b}.{n}" for b in range(12) for n in range(3))
    for batch in range(12):
        assert [t for t in said if t.startswith(f"{batch}.")] == [f"{batch}.{n}" for n in range(3)]
    assert stored[0] == {"role": "callee", "text": said[0], "at": at.isoformat()}


async def test_a_long_batch_of_turns_is_one_append(db: Database) -> None:
    """More turns than one SQLite `json_insert` call takes arguments for: all land, in order."""
    seeded = await seed_call(db)
    turns = [TranscriptTurn(role=TurnRole.AGENT, text=str(n)) for n in range(150)]
    async with db.scope(seeded.user_id) as s:
        await s.calls.append_turns(seeded.call_id, turns[:1])
        await s.calls.append_turns(seeded.call_id, turns[1:])
        await s.calls.append_turns(seeded.call_id, [])
        stored = (await s.calls.require(seeded.call_id)).transcript
    assert read_items(TranscriptTurn, stored) == turns


async def test_facts_keep_their_order_and_types(db: Database) -> None:
    seeded = await seed_call(db)
    store = CallStore(db, Settings(), seeded.user_id, seeded.call_id)
    for name in ("first", "second", "third"):
        await store.add_fact(name, "ünïcode \u201cquoted\u201d", 'it\'s "80" dollars')
    async with db.scope(seeded.user_id) as s:
        facts = (await s.calls.require(seeded.call_id)).facts
    assert [f["name"] for f in facts] == ["first", "second", "third"]
    assert facts[0]["value"] == "ünïcode \u201cquoted\u201d"
    assert facts[0]["quote"] == 'it\'s "80" dollars'


async def test_another_users_call_is_out_of_reach(db: Database) -> None:
    seeded = await seed_call(db)
    other = await make_user(db, "someone-else")
    store = CallStore(db, Settings(), other, seeded.call_id)
    with pytest.raises(NotFound):
        await store.add_fact("x", "y", "z")
    with pytest.raises(NotFound):
        await store.set_voice_activity(VoiceActivityRecord(voiced_ms=1))
    async with db.scope(seeded.user_id) as s:
        call = await s.calls.require(seeded.call_id)
    assert call.facts == [] and call.voice_activity == {}


async def test_voice_activity_is_stored(db: Database) -> None:
    seeded = await seed_call(db)
    store = CallStore(db, Settings(), seeded.user_id, seeded.call_id)
    activity = VoiceActivityRecord(voiced_ms=1200, audio_ms=5000)
    await store.set_voice_activity(activity)
    async with db.scope(seeded.user_id) as s:
        stored = (await s.calls.require(seeded.call_id)).voice_activity
    assert stored == activity.to_json()
    assert VoiceActivityRecord.read(stored) == activity


@pytest.mark.parametrize(
    ("plan", "limit"),
    [
        ({"hold_limit_s": 120}, 120),
        (None, 300),  # a plan stored before the limit existed
        ({"hold_limit_s": "ten minutes"}, 300),  # unreadable: the default
        ({"hold_limit_s": 5}, 300),  # out of range
    ],
)
async def test_the_brief_carries_the_campaigns_hold_limit(
    db: Database, plan: dict[str, object] | None, limit: int
) -> None:
    uid = await make_user(db, "owner")
    campaign = await make_campaign(db, uid, plan=plan)
    task = await make_task(db, uid, campaign_id=campaign.id)
    call = await make_call(db, uid, task_id=task.id)
    brief = await CallStore(db, Settings(), uid, call.id).brief()
    assert brief.hold_limit_s == limit
    script = call_script(brief)
    assert script.hold_limit_s == limit
    assert "wait_on_hold" in {tool.name for tool in script.tools}
