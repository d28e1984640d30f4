"""Calls through the real development PBX (Asterisk 22): outcomes, duplicates, DTMF, limits,
a cut AMI connection and an Asterisk restart. Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.db import Database
from core.db.migrate import upgrade
from core.db.models import CallOutcome, CallState
from core.settings import Settings
from telephony import dial_marks
from telephony.ami_connection import AmiConnection, AmiState
from telephony.backoff import Backoff
from telephony.call_initiator import CallInitiator, PlacedCall
from telephony.errors import DuplicateCall, InvalidNumber
from telephony.originate import originate_action
from tests.kit import make_user, until
from tests.kit.devpbx import DevPbx, devpbx_cli
from tests.telephony.asterisk_rig import (
    BUSY,
    CONGESTION,
    HUMAN,
    IVR,
    NO_ANSWER,
    QUICK_HANGUP,
    UNALLOCATED,
    VOICEMAIL,
    AudioSocketSink,
    EventLog,
)
from tests.telephony.conftest import LogLines
from tests.telephony.helpers import call_row, new_task

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


@pytest.fixture(scope="session")
def pbx_settings(devpbx: DevPbx) -> Settings:
    """The development PBX's settings, with the short timeouts these tests expect."""
    return devpbx.settings.model_copy(
        update={
            "ami_action_timeout_s": 5.0,
            "ami_ping_interval_s": 2.0,
            "app_test_mode": False,
            "max_concurrent_calls": 4,
        }
    )


@dataclass
class Pbx:
    settings: Settings
    conn: AmiConnection
    calls: CallInitiator
    log: EventLog
    sink: AudioSocketSink
    db: Database
    user: int

    def extra(self) -> dict[str, str]:
        """Send the answered call's audio to this test's AudioSocket sink."""
        return {"OPENDEEP_AUDIOSOCKET": self.sink.address}

    async def place(
        self, number: str, *, attempt: int = 1, ring_timeout_s: int = 20, task: int | None = None
    ) -> PlacedCall:
        task_id = task or await new_task(self.db, self.user, number)
        return await self.calls.place_call(
            self.user, task_id, attempt, number, self.extra(), ring_timeout_s=ring_timeout_s
        )

    def state(self, call: PlacedCall) -> CallState | None:
        snap = self.calls.snapshot(call)
        return snap.state if snap else None


async def open_pbx(
    settings: Settings,
    db: Database,
    *,
    backoff: Backoff | None = None,
    limit: int | None = None,
) -> Pbx:
    if limit is not None:
        settings = settings.model_copy(update={"max_concurrent_calls": limit})
    conn = AmiConnection(settings, backoff=backoff or Backoff(initial_s=0.3, max_s=2.0))
    log = EventLog()
    conn.on_event(log.append)
    # The namespace of the ids is this test database's own installation id: task ids restart at
    # 1 in each test database, which share the PBX with each other and with other test runs.
    calls = CallInitiator(settings, db, conn)
    await calls.start()
    await conn.start()
    await conn.wait_connected(15)
    sink = AudioSocketSink()
    await sink.start()
    user = await make_user(db, f"pbx{uuid.uuid4().hex[:8]}")
    return Pbx(settings, conn, calls, log, sink, db, user)


async def close_pbx(pbx: Pbx) -> None:
    # Leave nothing ringing on the shared PBX.
    for live in list(pbx.calls._calls.values()):
        if not live.tracker.ended and live.tracker.channel:
            with contextlib.suppress(Exception):  # best effort clean-up
                await pbx.calls.hangup(live.placed)
    await pbx.calls.stop()
    await pbx.conn.stop()
    await pbx.sink.stop()


@pytest.fixture
async def pbx(pbx_settings: Settings, db: Database) -> AsyncIterator[Pbx]:
    rig = await open_pbx(pbx_settings, db)
    yield rig
    await close_pbx(rig)


# --- each simulated callee -------------------------------------------------------------


async def test_human_answers_and_we_hang_up(pbx: Pbx) -> None:
    started = time.monotonic()
    call = await pbx.place(HUMAN)
    await until(lambda: pbx.state(call) is CallState.ANSWERED, 15)
    answered_after = time.monotonic() - started
    # AMD and MixMonitor report through UserEvents; AudioSocket reaches our sink.
    await until(lambda: (s := pbx.calls.snapshot(call)) is not None and s.recording_path, 15)
    await until(lambda: call.call_uuid in pbx.sink.uuids, 10)
    await pbx.calls.hangup(call)
    final = await call.wait_ended(10)
    assert final.outcome is CallOutcome.ANSWERED
    assert (final.hangup_cause, final.hangup_cause_text) == (16, "Normal Clearing")
    assert final.amd_status == "HUMAN"
    assert final.recording_path == f"/var/spool/asterisk/recordings/{call.call_uuid}.wav"
    assert final.channel is not None
    assert final.channel.startswith(f"Local/{HUMAN}@opendeep-outbound-")
    assert final.channel.endswith(";1")
    row = await call_row(pbx.db, pbx.user, call.call_id)
    assert (row.state, row.outcome, row.hangup_cause) == (
        CallState.ENDED,
        CallOutcome.ANSWERED,
        16,
    )
    assert row.amd_status == "HUMAN" and row.recording_path == final.recording_path
    assert row.answered_at is not None and row.ended_at is not None
    assert row.answered_at <= row.ended_at
    assert pbx.calls.calls_up == 0
    response = pbx.log.where("OriginateResponse", Uniqueid=call.channel_id)
    assert [(r["Response"], r["Reason"]) for r in response] == [("Success", "4")]
    assert answered_after < 10


@pytest.mark.parametrize(
    ("number", "outcome", "cause", "text", "ring_timeout_s"),
    [
        pytest.param(BUSY, CallOutcome.BUSY, 17, "User busy", 20, id="busy"),
        pytest.param(
            NO_ANSWER, CallOutcome.NO_ANSWER, 19, "User alerting, no answer", 2, id="no-answer"
        ),
        pytest.param(
            CONGESTION,
            CallOutcome.CONGESTION,
            34,
            "Circuit/channel congestion",
            20,
            id="congestion",
        ),
        pytest.param(
            UNALLOCATED,
            CallOutcome.FAILED,
            1,
            "Unallocated (unassigned) number",
            20,
            id="unallocated",
        ),
        pytest.param(QUICK_HANGUP, CallOutcome.ANSWERED, 16, "Normal Clearing", 20, id="hangs-up"),
    ],
)
async def test_callee_outcomes(
    pbx: Pbx,
    number: str,
    outcome: CallOutcome,
    cause: int,
    text: str,
    ring_timeout_s: int,
) -> None:
    states: list[CallState] = []
    call = await pbx.place(number, ring_timeout_s=ring_timeout_s)

    def note() -> bool:
        state = pbx.state(call)
        if state is not None and (not states or states[-1] is not state):
            states.append(state)
        return state is CallState.ENDED

    await until(note, ring_timeout_s + 15, step=0.01)
    final = await call.wait_ended(5)
    assert (final.outcome, final.hangup_cause, final.hangup_cause_text) == (outcome, cause, text)
    if number == NO_ANSWER:
        assert CallState.RINGING in states
    row = await call_row(pbx.db, pbx.user, call.call_id)
    assert (row.state, row.outcome, row.hangup_cause, row.hangup_cause_text) == (
        CallState.ENDED,
        outcome,
        cause,
        text,
    )
    assert pbx.calls.calls_up == 0


async def test_voicemail_is_told_by_amd(pbx: Pbx) -> None:
    call = await pbx.place(VOICEMAIL)
    await until(lambda: (s := pbx.calls.snapshot(call)) is not None and s.amd_status, 20)
    await pbx.calls.hangup(call)
    final = await call.wait_ended(10)
    assert final.amd_status == "MACHINE"
    assert final.outcome is CallOutcome.VOICEMAIL


async def test_hanging_up_while_it_rings_is_cancelled(pbx: Pbx) -> None:
    call = await pbx.place(NO_ANSWER, ring_timeout_s=20)
    await until(lambda: pbx.state(call) is CallState.RINGING, 10)
    await pbx.calls.hangup(call)
    final = await call.wait_ended(10)
    assert (final.outcome, final.answered_at) == (CallOutcome.CANCELLED, None)
    row = await call_row(pbx.db, pbx.user, call.call_id)
    assert row.outcome is CallOutcome.CANCELLED


# --- guards ------------------------------------------------------------------------------


async def test_invalid_number_is_refused_before_any_ami_action(pbx: Pbx) -> None:
    sent: list[object] = []
    real_send = pbx.conn.send

    async def spy(fields: object, **kw: object) -> dict[str, str]:
        sent.append(fields)
        return await real_send(fields, **kw)  # type: ignore[arg-type]

    pbx.conn.send = spy  # type: ignore[method-assign]
    task = await new_task(pbx.db, pbx.user, HUMAN)
    with pytest.raises(InvalidNumber, match="'555-0101'"):
        await pbx.calls.place_call(pbx.user, task, 1, "555-0101")
    await asyncio.sleep(0.5)
    assert sent == []
    # (The PBX is shared: other calls' events come and go; none may be this attempt's.)
    assert pbx.log.of_call((await pbx.calls.ids_of(task, 1)).channel_id) == []
    async with pbx.db.scope(pbx.user) as scope:
        assert not await scope.calls.list_for_task(task)


async def test_a_live_attempt_is_not_dialled_twice(pbx: Pbx) -> None:
    """Another node already placed this attempt (same ChannelId): ours is refused, and a
    second Originate with that ChannelId sent anyway is failed by Asterisk itself."""
    task = await new_task(pbx.db, pbx.user, HUMAN)
    ids = await pbx.calls.ids_of(task, 1)

    def by_hand(action_id: str) -> dict[str, str | list[str]]:
        return originate_action(
            ids=ids,
            number=HUMAN,
            user_id=pbx.user,
            task_id=task,
            recording=False,
            ring_timeout_s=20,
            action_id=action_id,
            variables=pbx.extra(),
        )

    await pbx.conn.send(by_hand("another-node/1"))
    await until(lambda: pbx.log.where("Newchannel", Uniqueid=ids.channel_id), 10)
    with pytest.raises(DuplicateCall, match="already exists"):
        await pbx.place(HUMAN, task=task)
    # Asterisk's own guard: queued, then failed (Reason 0) without a second channel.
    await pbx.conn.send(by_hand("another-node/2"))
    await until(lambda: pbx.log.where("OriginateResponse", ActionID="another-node/2"), 10)
    (failed,) = pbx.log.where("OriginateResponse", ActionID="another-node/2")
    assert (failed["Response"], failed["Reason"]) == ("Failure", "0")
    await asyncio.sleep(1.0)
    assert len(pbx.log.where("Newchannel", Uniqueid=ids.channel_id)) == 1
    # Refused before anything was written: no call row claims a dial that never happened.
    async with pbx.db.scope(pbx.user) as scope:
        assert list(await scope.calls.list_for_task(task)) == []
    await until(lambda: pbx.calls.calls_up == 0, 5)
    # The first call is untouched by the refusal: still up, then hung up here.
    channel = pbx.log.where("Newchannel", Uniqueid=ids.channel_id)[0]["Channel"]
    await pbx.conn.send({"Action": "Hangup", "Channel": channel})
    await until(lambda: pbx.log.where("Hangup", Uniqueid=ids.channel_id), 10)


async def test_the_pbx_marks_each_originate_that_reaches_it(pbx: Pbx) -> None:
    """`was_dialled` (what the reaper asks of a stopped node's last call row): the dialplan's
    mark is read back for a call that went out; a row whose Originate never left has none; too
    long after the row was written, a missing mark proves nothing."""
    call = await pbx.place(QUICK_HANGUP)
    await call.wait_ended(20)
    placed_at = (await call_row(pbx.db, pbx.user, call.call_id)).created_at
    soon = placed_at + dt.timedelta(minutes=5)
    assert await pbx.calls.was_dialled(call.call_uuid, placed_at, soon) is True

    task = await new_task(pbx.db, pbx.user, HUMAN)
    ids = await pbx.calls.ids_of(task, 1)
    async with pbx.db.scope(pbx.user) as scope:  # the row a node writes just before Originate
        row = await scope.calls.create(
            task_id=task, attempt=1, call_uuid=ids.call_uuid, dialed_number=HUMAN, node_id="gone"
        )
        written_at = row.created_at
    assert await pbx.calls.was_dialled(ids.call_uuid, written_at, soon) is False
    late = written_at + dial_marks.TRUSTED_FOR + dt.timedelta(seconds=1)
    assert await pbx.calls.was_dialled(ids.call_uuid, written_at, late) is None
    # A mark the PBX made "yesterday" by its clock (the row's day differs from the PBX's) is
    # found too: the node looks in the buckets either side of the row's day.
    yesterday = placed_at - dt.timedelta(days=1)
    assert await pbx.calls.was_dialled(call.call_uuid, yesterday, yesterday) is True


async def test_the_limit_holds_when_three_times_oversubscribed(
    pbx_settings: Settings, db: Database
) -> None:
    pbx = await open_pbx(pbx_settings, db, limit=2)
    try:
        tasks = [await new_task(db, pbx.user, f"+1212555{1000 + n}") for n in range(6)]

        async def one(task: int) -> PlacedCall:
            call = await pbx.calls.place_call(pbx.user, task, 1, QUICK_HANGUP, pbx.extra())
            await call.wait_ended(30)
            return call

        started = time.monotonic()
        placed = await asyncio.gather(*(one(t) for t in tasks))
        elapsed = time.monotonic() - started
        ours = {c.channel_id for c in placed}
        up: set[str] = set()
        peak = 0
        for event in pbx.log.events:
            uid = event.get("Uniqueid", "")
            if uid not in ours:
                continue
            if event.get("Event") == "Newchannel":
                up.add(uid)
                peak = max(peak, len(up))
            elif event.get("Event") == "Hangup":
                up.discard(uid)
        assert peak == 2
        assert len(pbx.log.where("Newchannel")) >= 6
        assert all(len(pbx.log.where("Newchannel", Uniqueid=c)) == 1 for c in ours)
        for call in placed:
            row = await call_row(db, pbx.user, call.call_id)
            assert row.outcome is CallOutcome.ANSWERED
        assert pbx.calls.calls_up == 0
        assert elapsed < 60
    finally:
        await close_pbx(pbx)


# --- DTMF --------------------------------------------------------------------------------


async def test_dtmf_routes_the_ivr(pbx: Pbx) -> None:
    call = await pbx.place(IVR)
    await until(lambda: pbx.state(call) is CallState.ANSWERED, 15)
    await asyncio.sleep(1.5)  # the menu starts playing
    mark = pbx.log.mark()
    await pbx.calls.send_dtmf(call, "w1")  # half a second's pause, then the key

    def routed() -> bool:
        later = pbx.log.since(mark)
        sent = [
            e
            for e in later
            if e.get("Event") == "DTMFEnd"
            and e.get("Linkedid") == call.channel_id
            and e.get("Direction") == "Sent"
            and e.get("Channel", "").startswith("PJSIP/")
        ]
        ivr = [
            e
            for e in later
            if e.get("Event") == "UserEvent"
            and e.get("UserEvent") == "SimIVR"
            and e.get("Digit") == "1"
        ]
        return bool(sent and ivr)

    await until(routed, 10)
    ivr = next(e for e in pbx.log.since(mark) if e.get("UserEvent") == "SimIVR")
    assert ivr["Route"] == "appointments"
    await pbx.calls.hangup(call)
    assert (await call.wait_ended(10)).outcome in (CallOutcome.ANSWERED, CallOutcome.VOICEMAIL)


# --- losing AMI --------------------------------------------------------------------------


async def test_cut_ami_connection_mid_call(pbx_settings: Settings, db: Database) -> None:
    """The TCP connection dies mid-call: reconnect, reconcile, no second dial.

    One call is still up after the outage (keeps its slot); the other was hung up on the PBX
    while nobody listened (its end is learnt from CoreShowChannels; its slot is freed).
    """
    slow = Backoff(initial_s=2.0, max_s=2.0, jitter=0.0)
    pbx = await open_pbx(pbx_settings, db, backoff=slow)
    try:
        staying = await pbx.place(HUMAN)
        leaving = await pbx.place(HUMAN, task=await new_task(db, pbx.user, "+12125550119"))
        await until(
            lambda: (
                pbx.state(staying) is CallState.ANSWERED
                and pbx.state(leaving) is CallState.ANSWERED
            ),
            15,
        )
        assert pbx.calls.calls_up == 2
        leaving_channel = pbx.calls.snapshot(leaving).channel  # type: ignore[union-attr]
        protocol = pbx.conn._protocol
        assert protocol is not None
        protocol.abort()  # the client side's socket dies
        await until(lambda: pbx.conn.state is not AmiState.CONNECTED, 5)
        out = await asyncio.to_thread(devpbx_cli, f"channel request hangup {leaving_channel}")
        assert "hangup" in out.lower() or out.strip() == "" or "requested" in out.lower()
        final = await leaving.wait_ended(20)
        assert pbx.conn.sessions == 2
        assert final.outcome is CallOutcome.ANSWERED
        assert final.hangup_cause is None
        assert final.hangup_cause_text is not None and "unknown" in final.hangup_cause_text
        assert pbx.calls.calls_up == 1
        assert pbx.state(staying) is CallState.ANSWERED
        # No second dial: one Originate each, and the PBX holds one channel for the call.
        channels = await pbx.conn.send_list({"Action": "CoreShowChannels"})
        assert [c["Uniqueid"] for c in channels].count(staying.channel_id) == 1
        assert len(pbx.log.where("Newchannel", Uniqueid=staying.channel_id)) == 1
        await pbx.calls.hangup(staying)
        assert (await staying.wait_ended(10)).hangup_cause == 16
        assert pbx.calls.calls_up == 0
    finally:
        await close_pbx(pbx)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'restart.db'}"
    upgrade(url)
    return url


@pytest.fixture
async def sqlite_db(sqlite_url: str) -> AsyncIterator[Database]:
    database = Database(sqlite_url)
    yield database
    await database.dispose()


async def test_asterisk_restart(pbx_settings: Settings, sqlite_db: Database) -> None:
    """`core restart now`: the call in progress ends as a technical failure (Asterisk cut it,
    not the callee), the client reconnects and calls again.

    SQLite only: a restart disturbs everyone using the shared PBX, and the database side of
    recovering is the same as after a cut connection (tested on both databases above).
    """
    db = sqlite_db
    pbx = await open_pbx(pbx_settings, db)
    try:
        states: list[AmiState] = []
        pbx.conn.on_state(states.append)
        call = await pbx.place(HUMAN)
        await until(lambda: pbx.state(call) is CallState.ANSWERED, 15)
        started = time.monotonic()
        await asyncio.to_thread(devpbx_cli, "core restart now")
        final = await call.wait_ended(60)
        assert final.outcome is CallOutcome.TECHNICAL_FAILURE
        assert final.answered_at is not None
        row = await call_row(db, pbx.user, call.call_id)
        assert row.outcome is CallOutcome.TECHNICAL_FAILURE
        assert row.end_reason == "Asterisk shut down or restarted during the call"
        await until(lambda: pbx.conn.connected and pbx.conn.sessions >= 2, 90)
        recovered_after = time.monotonic() - started
        assert AmiState.DISCONNECTED in states
        assert pbx.calls.calls_up == 0
        again = await pbx.place(QUICK_HANGUP)
        assert (await again.wait_ended(30)).outcome is CallOutcome.ANSWERED
        assert recovered_after < 90
    finally:
        await close_pbx(pbx)


async def test_wrong_secret_against_asterisk(pbx_settings: Settings, log_lines: LogLines) -> None:
    wrong = pbx_settings.model_copy(update={"ami_secret": SecretStr("not-the-secret-4711")})
    conn = AmiConnection(wrong, backoff=Backoff(initial_s=0.2, max_s=0.5))
    await conn.start()
    await asyncio.sleep(2.0)
    assert conn.state is AmiState.CONNECTING and conn.problem == "login refused"
    await conn.stop()
    refused = log_lines.matching("AMI login refused")
    assert len(refused) == 1
    assert "not-the-secret-4711" not in log_lines.text
    assert pbx_settings.ami_secret.get_secret_value() not in log_lines.text
