"""`CallInitiator` over a scripted PBX (fake AMI): rows, outcomes, slots, duplicates, reconnects."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from core.db import Database
from core.db.models import CallOutcome, CallState
from telephony.ami_connection import AmiConnection
from telephony.backoff import Backoff
from telephony.call_initiator import DTMF_GAP_S, DTMF_PAUSE_S, CallInitiator, dtmf_steps
from telephony.errors import (
    AmiNotConnected,
    CallNotLive,
    ChannelCheckFailed,
    DuplicateCall,
    InvalidCallVariable,
    InvalidDtmf,
    InvalidNumber,
    NoCallSlot,
    OriginateRefused,
)
from tests.kit import make_user, until
from tests.telephony.conftest import LogLines, fake_settings
from tests.telephony.fake_ami import FakeAmi, FakeSession, Fields
from tests.telephony.helpers import call_row, new_task
from tests.telephony.sim_pbx import BUSY, HUMAN, NO_ANSWER, QUICK_HANGUP, SimCall, SimPbx

FAST = Backoff(initial_s=0.05, max_s=0.2, jitter=0.1)


@dataclass
class Rig:
    ami: FakeAmi
    pbx: SimPbx
    conn: AmiConnection
    calls: CallInitiator
    db: Database
    user: int


async def build_rig(
    fake_ami: FakeAmi,
    db: Database,
    *,
    connect: bool = True,
    slot_wait_s: float = 10.0,
    **settings: object,
) -> Rig:
    cfg = fake_settings(fake_ami.port, **settings)
    conn = AmiConnection(cfg, backoff=FAST, boot_wait_s=0.5)
    calls = CallInitiator(cfg, db, conn, slot_wait_s=slot_wait_s)
    await calls.start()
    if connect:
        await conn.start()
        await conn.wait_connected(5)
    user = await make_user(db, f"u{uuid.uuid4().hex[:8]}")
    return Rig(fake_ami, SimPbx(fake_ami, talk_s=0.5), conn, calls, db, user)


@pytest.fixture
async def rig(fake_ami: FakeAmi, db: Database) -> AsyncIterator[Rig]:
    r = await build_rig(fake_ami, db)
    yield r
    await r.calls.stop()
    await r.conn.stop()
    await r.pbx.stop()


async def test_answered_call_then_hung_up_by_us(rig: Rig) -> None:
    task = await new_task(rig.db, rig.user)
    call = await rig.calls.place_call(rig.user, task, 1, "+1 212 555 0101", {"CAMPAIGN": "7"})
    originate = rig.ami.named("Originate")[0]
    assert originate["ChannelId"] == call.channel_id == call.call_uuid
    assert originate["Channel"] == f"Local/{HUMAN}@opendeep-outbound"
    assert "CAMPAIGN=7" in originate["Variable"]
    assert f"USER_ID={rig.user}" in originate["Variable"]
    row = await call_row(rig.db, rig.user, call.call_id)
    assert (row.state, row.call_uuid, row.dialed_number) == (
        CallState.ORIGINATING,
        call.call_uuid,
        HUMAN,
    )
    await until(
        lambda: (s := rig.calls.snapshot(call)) is not None and s.state is CallState.ANSWERED
    )
    await rig.calls.hangup(call)
    final = await call.wait_ended(5)
    assert (final.outcome, final.hangup_cause, final.hangup_cause_text) == (
        CallOutcome.ANSWERED,
        16,
        "Normal Clearing",
    )
    assert rig.ami.named("Hangup")[0]["Channel"] == final.channel
    row = await call_row(rig.db, rig.user, call.call_id)
    assert row.state is CallState.ENDED and row.outcome is CallOutcome.ANSWERED
    assert row.hangup_cause == 16 and row.amd_status == "HUMAN"
    assert row.answered_at is not None and row.ended_at is not None
    assert row.answered_at <= row.ended_at
    assert rig.calls.calls_up == 0


@pytest.mark.parametrize(
    ("number", "outcome", "cause"),
    [
        (BUSY, CallOutcome.BUSY, 17),
        (NO_ANSWER, CallOutcome.NO_ANSWER, 19),
        (QUICK_HANGUP, CallOutcome.ANSWERED, 16),
    ],
)
async def test_outcomes_reach_the_row(
    rig: Rig, number: str, outcome: CallOutcome, cause: int
) -> None:
    task = await new_task(rig.db, rig.user, number)
    call = await rig.calls.place_call(rig.user, task, 1, number)
    final = await call.wait_ended(5)
    assert (final.outcome, final.hangup_cause) == (outcome, cause)
    row = await call_row(rig.db, rig.user, call.call_id)
    assert (row.state, row.outcome, row.hangup_cause) == (CallState.ENDED, outcome, cause)


@pytest.mark.parametrize("number", ["", "12", "not a number", "+1 212 555 010"])
async def test_an_invalid_number_is_refused_before_any_ami_action(rig: Rig, number: str) -> None:
    task = await new_task(rig.db, rig.user)
    before = len(rig.ami.actions)
    with pytest.raises(InvalidNumber, match="cannot call"):
        await rig.calls.place_call(rig.user, task, 1, number)
    assert len(rig.ami.actions) == before
    async with rig.db.scope(rig.user) as scope:
        assert not await scope.calls.list_for_task(task)


async def test_a_bad_variable_is_refused_before_any_ami_action(rig: Rig) -> None:
    task = await new_task(rig.db, rig.user)
    with pytest.raises(InvalidCallVariable):
        await rig.calls.place_call(rig.user, task, 1, HUMAN, {"X": "a,b"})
    assert not rig.ami.named("Originate")


async def test_the_same_attempt_twice_is_one_call(rig: Rig) -> None:
    task = await new_task(rig.db, rig.user)
    call = await rig.calls.place_call(rig.user, task, 1, HUMAN)
    with pytest.raises(DuplicateCall, match="already being called"):
        await rig.calls.place_call(rig.user, task, 1, HUMAN)
    await rig.calls.hangup(call)
    await call.wait_ended(5)
    rig.calls._calls.clear()  # as if forgotten (or another node of the same database)
    with pytest.raises(DuplicateCall, match="already placed"):
        await rig.calls.place_call(rig.user, task, 1, HUMAN)
    assert len(rig.ami.named("Originate")) == 1
    assert rig.calls.calls_up == 0


async def test_asterisk_refusing_a_live_channel_id_is_a_duplicate(rig: Rig) -> None:
    """Another node (its own database) already has this attempt up on the same PBX."""
    task = await new_task(rig.db, rig.user)
    ids = await rig.calls.ids_of(task, 1)
    rig.pbx.calls[ids.channel_id] = SimCall(
        HUMAN, ids.channel_id, ids.other_channel_id, "elsewhere/1", "Local/x@opendeep-outbound-1"
    )
    with pytest.raises(DuplicateCall, match="already exists"):
        await rig.calls.place_call(rig.user, task, 1, HUMAN)
    assert len(rig.pbx.history) == 0  # nothing new was dialled
    # Found before anything was written: no call row claims a dial that never happened.
    async with rig.db.scope(rig.user) as scope:
        assert list(await scope.calls.list_for_task(task)) == []
    await until(lambda: rig.calls.calls_up == 0)


async def test_losing_a_race_for_the_channel_id(rig: Rig) -> None:
    """Another node's Originate of this attempt got there between our look-up and ours."""
    task = await new_task(rig.db, rig.user)
    ids = await rig.calls.ids_of(task, 1)
    theirs = SimCall(
        HUMAN, ids.channel_id, ids.other_channel_id, "elsewhere/1", "Local/x@opendeep-outbound-1"
    )
    rig.pbx.calls[ids.channel_id] = theirs
    rig.pbx.unlisted_once.add(ids.channel_id)
    call = await rig.calls.place_call(rig.user, task, 1, HUMAN)
    final = await call.wait_ended(5)
    assert final.outcome is CallOutcome.TECHNICAL_FAILURE
    assert final.hangup_cause_text is not None and "already exists" in final.hangup_cause_text
    assert len(rig.pbx.history) == 0
    # The other call's events are not taken for ours.
    rig.pbx._set_state(theirs, "6", "Up")
    await asyncio.sleep(0.5)
    row = await call_row(rig.db, rig.user, call.call_id)
    assert (row.outcome, row.answered_at) == (CallOutcome.TECHNICAL_FAILURE, None)


async def test_an_originate_refused_for_another_reason(rig: Rig) -> None:
    rig.ami.handlers["Originate"] = lambda s, a: s.error(a, "Originate failed")
    task = await new_task(rig.db, rig.user)
    with pytest.raises(OriginateRefused, match="Asterisk refused the Originate: Originate failed"):
        await rig.calls.place_call(rig.user, task, 1, HUMAN)
    async with rig.db.scope(rig.user) as scope:
        (row,) = await scope.calls.list_for_task(task)
    await until(lambda: rig.calls.calls_up == 0)
    await asyncio.sleep(0.5)
    async with rig.db.scope(rig.user) as scope:
        row = await scope.calls.require(row.id)
    assert (row.state, row.outcome) == (CallState.ENDED, CallOutcome.TECHNICAL_FAILURE)


async def test_not_connected_refuses_before_anything(fake_ami: FakeAmi, db: Database) -> None:
    r = await build_rig(fake_ami, db, connect=False)
    task = await new_task(db, r.user)
    with pytest.raises(AmiNotConnected):
        await r.calls.place_call(r.user, task, 1, HUMAN)
    async with db.scope(r.user) as scope:
        assert not await scope.calls.list_for_task(task)
    await r.calls.stop()
    await r.pbx.stop()


async def test_three_times_oversubscribed_the_limit_holds(rig: Rig) -> None:
    rig.pbx.talk_s = 0.2
    tasks = [await new_task(rig.db, rig.user, f"+1212555{n:04d}") for n in range(6)]

    async def one(task: int) -> CallOutcome | None:
        call = await rig.calls.place_call(rig.user, task, 1, HUMAN)
        return (await call.wait_ended(10)).outcome

    outcomes = await asyncio.gather(*(one(t) for t in tasks))
    assert outcomes == [CallOutcome.ANSWERED] * 6
    assert rig.pbx.max_up == 2
    assert len(rig.ami.named("Originate")) == 6
    assert rig.calls.calls_up == 0


async def test_refusing_when_all_slots_are_taken(fake_ami: FakeAmi, db: Database) -> None:
    r = await build_rig(fake_ami, db, slot_wait_s=0, max_concurrent_calls=1)
    try:
        first = await r.calls.place_call(r.user, await new_task(db, r.user), 1, HUMAN)
        with pytest.raises(NoCallSlot, match="all 1 call slots are in use"):
            await r.calls.place_call(r.user, await new_task(db, r.user), 1, HUMAN)
        assert len(fake_ami.named("Originate")) == 1
        await r.calls.hangup(first)
        await first.wait_ended(5)
    finally:
        await r.calls.stop()
        await r.conn.stop()
        await r.pbx.stop()


async def test_test_mode_redirects_and_allows_one_call(fake_ami: FakeAmi, db: Database) -> None:
    r = await build_rig(
        fake_ami,
        db,
        app_test_mode=True,
        app_test_mode_redirect_number=HUMAN,
        max_concurrent_calls=5,
        slot_wait_s=0,
    )
    try:
        assert r.calls.limit == 1
        call = await r.calls.place_call(r.user, await new_task(db, r.user, BUSY), 1, BUSY)
        assert (call.requested_number, call.dialed_number, call.redirected) == (BUSY, HUMAN, True)
        assert fake_ami.named("Originate")[0]["Channel"] == f"Local/{HUMAN}@opendeep-outbound"
        with pytest.raises(NoCallSlot):
            await r.calls.place_call(r.user, await new_task(db, r.user), 1, HUMAN)
        row = await call_row(db, r.user, call.call_id)
        assert row.dialed_number == HUMAN
        await r.calls.hangup(call)
        await call.wait_ended(5)
    finally:
        await r.calls.stop()
        await r.conn.stop()
        await r.pbx.stop()


async def test_dtmf(rig: Rig) -> None:
    task = await new_task(rig.db, rig.user)
    call = await rig.calls.place_call(rig.user, task, 1, HUMAN)
    with pytest.raises(InvalidDtmf):
        await rig.calls.send_dtmf(call, "12x")
    with pytest.raises(CallNotLive, match="not answered yet"):
        await rig.calls.send_dtmf(call, "1")
    await until(lambda: (s := rig.calls.snapshot(call)) is not None and s.answered_at is not None)
    await rig.calls.send_dtmf(call, "1#")
    snap = rig.calls.snapshot(call)
    assert snap is not None
    assert rig.pbx.dtmf == [(snap.channel, "1"), (snap.channel, "#")]
    assert snap.channel is not None and snap.channel.endswith(";1")
    await rig.calls.hangup(call)
    await call.wait_ended(5)
    with pytest.raises(CallNotLive):
        await rig.calls.send_dtmf(call, "1")
    with pytest.raises(CallNotLive):
        await rig.calls.hangup(call)


async def test_hangup_before_the_channel_exists(rig: Rig) -> None:
    rig.pbx.step_s = 0.2
    task = await new_task(rig.db, rig.user)
    slow = rig.ami.handlers["Originate"]

    def delayed(session: FakeSession, action: Fields) -> None:
        session.respond(action, Message="Originate successfully queued")
        rig.pbx.answer_originates = False
        asyncio.get_running_loop().call_later(0.2, slow, session, action)

    rig.ami.handlers["Originate"] = delayed
    call = await rig.calls.place_call(rig.user, task, 1, HUMAN)
    await rig.calls.hangup(call)
    final = await call.wait_ended(5)
    assert final.outcome is CallOutcome.CANCELLED
    assert len(rig.ami.named("Hangup")) == 1


async def test_connection_cut_mid_call_reconciles_without_a_second_dial(rig: Rig) -> None:
    rig.pbx.talk_s = 30
    staying = await rig.calls.place_call(rig.user, await new_task(rig.db, rig.user), 1, HUMAN)
    leaving = await rig.calls.place_call(
        rig.user, await new_task(rig.db, rig.user, "+12125550109"), 1, HUMAN
    )
    await until(
        lambda: all(
            (s := rig.calls.snapshot(c)) is not None and s.state is CallState.ANSWERED
            for c in (staying, leaving)
        )
    )
    assert rig.calls.calls_up == 2
    session = rig.ami.live
    assert session is not None
    session.abort()
    rig.pbx.vanish(leaving.channel_id)  # it ends while nobody listens
    final = await leaving.wait_ended(5)
    assert final.outcome is CallOutcome.ANSWERED
    assert final.hangup_cause is None
    assert final.hangup_cause_text is not None and "unknown" in final.hangup_cause_text
    assert rig.conn.sessions == 2
    assert rig.calls.calls_up == 1
    snap = rig.calls.snapshot(staying)
    assert snap is not None and snap.state is CallState.ANSWERED
    assert len(rig.ami.named("Originate")) == 2
    await rig.calls.hangup(staying)
    assert (await staying.wait_ended(5)).hangup_cause == 16


@pytest.mark.parametrize("created", [True, False])
async def test_an_originate_whose_answer_was_lost(rig: Rig, created: bool) -> None:
    """The connection drops after Asterisk got the Originate but before it answered."""
    rig.pbx.talk_s = 30
    real = rig.ami.handlers["Originate"]

    def swallow(session: FakeSession, action: Fields) -> None:
        if created:
            rig.pbx.answer_originates = False
            real(session, action)
        session.abort()

    rig.ami.handlers["Originate"] = swallow
    task = await new_task(rig.db, rig.user)
    call = await rig.calls.place_call(rig.user, task, 1, HUMAN)  # not an error: unknown yet
    await until(lambda: rig.conn.sessions == 2 and rig.conn.connected)
    if created:
        await asyncio.sleep(0.3)
        assert rig.calls.calls_up == 1
        snap = rig.calls.snapshot(call)
        assert snap is not None and not snap.ended
        await rig.calls.hangup(call)
        final = await call.wait_ended(5)
        assert final.hangup_cause == 16
    else:
        final = await call.wait_ended(5)
        assert (final.outcome, final.hangup_cause) == (CallOutcome.FAILED, None)
    assert len(rig.ami.named("Originate")) == 1
    assert rig.calls.calls_up == 0


@pytest.mark.parametrize(
    ("digits", "steps"),
    [
        ("1", ["1"]),
        ("12#", ["1", DTMF_GAP_S, "2", DTMF_GAP_S, "#"]),
        ("1w2", ["1", DTMF_PAUSE_S, "2"]),
        ("w1", [DTMF_PAUSE_S, "1"]),
        ("1ww*", ["1", DTMF_PAUSE_S, DTMF_PAUSE_S, "*"]),
        ("a", ["A"]),
    ],
)
def test_dtmf_steps_keys_gaps_and_pauses(digits: str, steps: list[str | float]) -> None:
    assert dtmf_steps(digits) == steps
    assert DTMF_PAUSE_S == 0.5


async def test_dtmf_with_a_pause_plays_only_the_keys(rig: Rig) -> None:
    rig.pbx.talk_s = 10  # the callee stays on the line past the pause
    task = await new_task(rig.db, rig.user)
    call = await rig.calls.place_call(rig.user, task, 1, HUMAN)
    await until(lambda: (s := rig.calls.snapshot(call)) is not None and s.answered_at is not None)
    for bad in ("ww", "1x", "w" * 33):
        with pytest.raises(InvalidDtmf):
            await rig.calls.send_dtmf(call, bad)
    await rig.calls.send_dtmf(call, "1w#")
    snap = rig.calls.snapshot(call)
    assert snap is not None
    assert rig.pbx.dtmf == [(snap.channel, "1"), (snap.channel, "#")]
    await rig.calls.hangup(call)
    await call.wait_ended(5)


async def test_an_ami_error_before_the_originate_dials_nothing(
    rig: Rig, log_lines: LogLines
) -> None:
    """Asterisk cannot say whether the attempt's channel is up (here: the AMI user may not list
    channels): that is no "no duplicate" — nothing is dialled, the reason is logged and raised."""
    rig.ami.handlers["CoreShowChannels"] = lambda session, action: session.error(
        action, "Permission denied"
    )
    task = await new_task(rig.db, rig.user)
    with pytest.raises(ChannelCheckFailed, match="Permission denied"):
        await rig.calls.place_call(rig.user, task, 1, HUMAN)
    assert rig.ami.named("Originate") == []
    async with rig.db.scope(rig.user) as s:
        assert await s.calls.list_for_task(task) == []
    assert rig.calls.calls_up == 0  # the slot is free again
    [line] = log_lines.matching("not dialling: cannot check whether the attempt is live")
    assert line["level"] == "warning" and line["task_id"] == task
    assert "Permission denied" in line["error"]


async def test_a_refused_originate_whose_duplicate_check_fails_says_so(
    rig: Rig, log_lines: LogLines
) -> None:
    """The Originate is refused and the check for a twin call fails too: the call is refused
    (not a duplicate), the reason says the check could not be made, and it is logged."""
    task = await new_task(rig.db, rig.user)
    listed = 0

    def channels(session: FakeSession, action: Fields) -> None:
        nonlocal listed
        listed += 1
        if listed == 1:  # the look-up before dialling works
            session.respond(action, EventList="start", Message="Channels will follow")
            session.event(
                "CoreShowChannelsComplete", ActionID=str(action["ActionID"]), EventList="Complete"
            )
        else:
            session.error(action, "Permission denied")

    rig.ami.handlers["CoreShowChannels"] = channels
    rig.ami.handlers["Originate"] = lambda session, action: session.error(
        action, "Originate failed"
    )
    with pytest.raises(OriginateRefused, match="could not be checked"):
        await rig.calls.place_call(rig.user, task, 1, HUMAN)
    assert log_lines.matching("Originate refused; could not check for a live channel")


async def test_the_caller_id_setting_goes_with_every_originate(
    fake_ami: FakeAmi, db: Database
) -> None:
    r = await build_rig(fake_ami, db, caller_id='"Acme" <+12125550100>')
    try:
        call = await r.calls.place_call(r.user, await new_task(db, r.user), 1, HUMAN)
        assert fake_ami.named("Originate")[0]["CallerID"] == '"Acme" <+12125550100>'
        await r.calls.hangup(call)
        await call.wait_ended(5)
    finally:
        await r.calls.stop()
        await r.conn.stop()
        await r.pbx.stop()
