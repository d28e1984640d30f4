"""The attempt runner prewarms each call's voice session once its Originate is out, and no
session is left open after calls that were not answered; the calls it follows tell their bridge
the AMD verdict heard over AMI (a scripted PBX behind a fake AMI, the local Realtime server, a
real database)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from agents.call_agent import call_script
from app.attempt_runner import CallAttemptRunner, PlacedCalls
from core.db import Claim, Database
from core.settings import Settings
from graphs.runner import Analysis
from media.bridge_registry import BridgeRegistry
from media.realtime_client import RealtimeClient
from media.realtime_server import RealtimeTestServer
from media.realtime_server.responses import SimOptions
from telephony.ami_connection import AmiConnection
from telephony.backoff import Backoff
from telephony.call_initiator import CallInitiator
from tests.kit import T0, make_task, make_user, until
from tests.telephony.conftest import FAKE_SECRET, fake_settings
from tests.telephony.fake_ami import FakeAmi
from tests.telephony.sim_pbx import BUSY, HUMAN, NO_ANSWER, SimPbx


class Analyzer:
    """No call here is answered: nothing is analysed."""

    async def analyze_call(self, user_id: int, call_id: int) -> Analysis:
        raise AssertionError("an unanswered call is not analysed")

    async def lifecycle_pass(self, user_id: int) -> None:
        return None


@dataclass
class Rig:
    db: Database
    sim: RealtimeTestServer
    registry: BridgeRegistry
    runner: CallAttemptRunner
    calls: CallInitiator
    placed: PlacedCalls
    user_id: int

    async def attempt(self, number: str) -> None:
        task = await make_task(self.db, self.user_id, phone=number)
        claim = Claim(self.user_id, task.id, 1, T0 + dt.timedelta(minutes=5))
        await self.runner.run_attempt(claim, number)


@pytest.fixture
async def rig(db: Database) -> AsyncIterator[Rig]:
    ami = FakeAmi(username="opendeep", secret=FAKE_SECRET)
    await ami.start()
    settings: Settings = fake_settings(ami.port, max_concurrent_calls=4)
    conn = AmiConnection(settings, backoff=Backoff(initial_s=0.05, max_s=0.2), boot_wait_s=0.5)
    calls = CallInitiator(settings, db, conn, slot_wait_s=5)
    pbx = SimPbx(ami, step_s=0.3)  # no answer after ~2 s of ringing
    async with RealtimeTestServer(options=SimOptions(connect_latency_ms=100)) as sim:
        placed = PlacedCalls(calls)
        registry = BridgeRegistry(
            db,
            settings,
            script=call_script,
            realtime=lambda: RealtimeClient(base_url=sim.url, model="gpt-realtime"),
            actions=placed,
        )
        runner = CallAttemptRunner(
            db, settings, calls, registry, Analyzer(), placed=placed, ring_timeout_s=30
        )
        await calls.start()
        await conn.start()
        await conn.wait_connected(5)
        try:
            yield Rig(db, sim, registry, runner, calls, placed, await make_user(db, "owner"))
        finally:
            await registry.aclose()
            await calls.stop()
            await conn.stop()
            await pbx.stop()
            await ami.stop()


async def test_a_ringing_call_has_its_session_open_and_unanswered_calls_close_theirs(
    rig: Rig,
) -> None:
    counts = rig.registry.prewarmer.counts
    ringing = asyncio.create_task(rig.attempt(NO_ANSWER))
    # While it rings the call's session is opened and configured with its script.
    await until(lambda: counts.open_now == 1, 5, "the session to open while the phone rings")
    update = await rig.sim.connections[0].wait_for_received("session.update")
    assert "Smile Dental" in update["session"]["instructions"]
    await asyncio.wait_for(ringing, 15)
    await rig.attempt(BUSY)  # busy at once: its session is closed, opened or not
    await until(lambda: all(c.closed for c in rig.sim.connections), 5, "every session to be closed")
    assert counts.started == 2 and counts.used == 0
    assert counts.closed_unused + counts.abandoned == 2
    assert counts.open_now == counts.opening_now == 0


async def test_a_followed_call_tells_the_amd_verdict_heard_over_ami(rig: Rig) -> None:
    task = await make_task(rig.db, rig.user_id, phone=HUMAN)
    call = await rig.calls.place_call(rig.user_id, task.id, 1, HUMAN)
    assert rig.placed.amd_status(call.call_uuid) is None  # not followed yet
    rig.placed.follow(call)
    # The scripted PBX answers and its dialplan announces HUMAN over AMI.
    await until(lambda: rig.placed.amd_status(call.call_uuid) == "HUMAN", 5, "the AMD verdict")
    rig.placed.forget(call.call_uuid)
    assert rig.placed.amd_status(call.call_uuid) is None
    await rig.calls.hangup(call)
