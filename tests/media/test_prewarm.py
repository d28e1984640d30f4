"""Prewarmed sessions over the wire: the local Realtime server, a real database and a stand-in
Asterisk peer. A session opened while the phone rings is the one the answered call talks on; an
unanswered call, a bound run out or a shutdown leaves no session open; a failed opening falls
back to connecting at answer. The decisions themselves are tested in test_prewarm_machine.py."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from agents.call_agent import call_script
from core.db import Database
from core.settings import Settings
from media.audiosocket_server import AudioSocketServer
from media.bridge_registry import BridgeRegistry
from media.prewarm_machine import PrewarmCounts
from media.realtime_client import RealtimeClient
from media.realtime_server import RealtimeTestServer, Say, Script, ScriptedResponse
from media.realtime_server.record import ConnectionRecord
from media.realtime_server.responses import SimOptions
from tests.kit import make_call, make_campaign, make_task, make_user, until
from tests.media.fake_asterisk import FakeAsterisk

GREETING = Script(responses=[ScriptedResponse(outputs=[Say(text="Hi, this is an assistant.")])])


@dataclass
class Rig:
    db: Database
    sim: RealtimeTestServer
    registry: BridgeRegistry
    server: AudioSocketServer
    user_id: int
    clients_made: int = 0

    @property
    def counts(self) -> PrewarmCounts:
        return self.registry.prewarmer.counts

    def open_connections(self) -> list[ConnectionRecord]:
        return [c for c in self.sim.connections if not c.closed]

    async def call(self, amd: str | None = "HUMAN") -> str:
        """A call row of the owner's, as the call initiator writes it before the Originate."""
        campaign = await make_campaign(self.db, self.user_id)
        task = await make_task(self.db, self.user_id, campaign_id=campaign.id)
        call_uuid = str(uuid.uuid4())
        await make_call(self.db, self.user_id, task_id=task.id, call_uuid=call_uuid, amd_status=amd)
        self.registry.expect(call_uuid)
        return call_uuid

    async def answer(self, call_uuid: str) -> FakeAsterisk:
        peer = FakeAsterisk(self.server.port, uuid.UUID(call_uuid))
        await peer.connect()
        peer.stream(None, lambda n: bytes(320))
        return peer


async def build(
    db: Database, options: SimOptions, *, first_url: str | None = None
) -> AsyncIterator[Rig]:
    async with RealtimeTestServer(GREETING, options=options) as sim:
        rig: Rig

        def client() -> RealtimeClient:
            rig.clients_made += 1
            url = first_url if first_url and rig.clients_made == 1 else sim.url
            return RealtimeClient(base_url=url, model="gpt-realtime")

        registry = BridgeRegistry(db, Settings(_env_file=None), script=call_script, realtime=client)
        server = AudioSocketServer(registry.expected.guard(registry.resolve), port=0)
        await server.start()
        rig = Rig(db, sim, registry, server, await make_user(db, "owner"))
        try:
            yield rig
        finally:
            await server.stop()
            await registry.aclose()


@pytest.fixture
async def rig(db: Database) -> AsyncIterator[Rig]:
    async for built in build(db, SimOptions(realtime_factor=4.0)):
        yield built


@pytest.fixture
async def slow_rig(db: Database) -> AsyncIterator[Rig]:
    """A server whose sessions take 0.4 s to open (as over the internet)."""
    async for built in build(db, SimOptions(realtime_factor=4.0, connect_latency_ms=400)):
        yield built


async def test_the_answered_call_talks_on_the_session_opened_while_it_rang(rig: Rig) -> None:
    call_uuid = await rig.call()
    rig.registry.prewarm(call_uuid, 30)
    await until(lambda: rig.counts.open_now == 1, 5, "the session to open")
    conn = rig.sim.connections[0]
    update = await conn.wait_for_received("session.update")
    assert "Smile Dental" in update["session"]["instructions"]  # the call's own script
    # Configured as the bridge would at answer, the callee's turns left to the conversation.
    assert update["session"]["audio"]["input"]["turn_detection"]["create_response"] is False
    assert conn.input_audio_ms == 0  # nothing is heard before the call is answered
    peer = await rig.answer(call_uuid)
    try:
        greeting = await conn.wait_for_received("response.create", timeout_s=5)
        assert "AI assistant" in greeting["response"]["instructions"]
        await peer.wait_frames(30, timeout=5)
        bridge = rig.registry.bridge(call_uuid)
        assert bridge is not None and bridge.stats.prewarmed
        assert len(rig.sim.connections) == 1  # no second session at answer
        [session] = rig.server.sessions
        first_audio_ms = session.counters.first_audio_ms
        assert first_audio_ms is not None and first_audio_ms > 0
        counts = rig.counts
        assert (counts.opened, counts.used, counts.closed_unused) == (1, 1, 0)
    finally:
        await peer.close()
    rig.registry.forget(call_uuid)  # the attempt is over: nothing left to close
    assert rig.counts.closed_unused == 0


async def test_unanswered_calls_leave_no_session_open(slow_rig: Rig) -> None:
    """Busy, no answer and a hang-up while ringing: each session is closed once the call ends,
    one of them while it was still opening."""
    rig = slow_rig
    busy, no_answer, hung_up = [await rig.call() for _ in range(3)]
    for call_uuid in (busy, no_answer, hung_up):
        rig.registry.prewarm(call_uuid, 30)
    rig.registry.forget(hung_up)  # before its session had opened
    await until(lambda: rig.counts.open_now == 2, 5, "two sessions to open")
    rig.registry.forget(busy)
    rig.registry.forget(no_answer)
    await until(lambda: not rig.open_connections(), 5, "every session to be closed")
    counts = rig.counts
    assert (counts.started, counts.opened, counts.used) == (3, 2, 0)
    assert (counts.closed_unused, counts.abandoned) == (2, 1)
    assert counts.open_now == counts.opening_now == 0
    assert len(rig.sim.connections) <= 3


async def test_a_session_unused_past_its_bound_is_closed_and_the_call_connects_anew(
    rig: Rig,
) -> None:
    call_uuid = await rig.call()
    rig.registry.prewarm(call_uuid, 0.3)
    await until(lambda: rig.counts.expired == 1, 5, "the bound to run out")
    await until(lambda: not rig.open_connections(), 5, "the session to be closed")
    peer = await rig.answer(call_uuid)
    try:
        second = await rig.sim.wait_for_connection(index=1, timeout_s=5)
        await second.wait_for_received("response.create", timeout_s=5)
        bridge = rig.registry.bridge(call_uuid)
        assert bridge is not None and not bridge.stats.prewarmed
    finally:
        await peer.close()


async def test_answered_while_the_session_opens_the_call_waits_for_that_session(
    slow_rig: Rig,
) -> None:
    rig = slow_rig
    call_uuid = await rig.call()
    rig.registry.prewarm(call_uuid, 30)
    peer = await rig.answer(call_uuid)  # at once: the session is still opening
    try:
        conn = await rig.sim.wait_for_connection(timeout_s=5)
        await conn.wait_for_received("response.create", timeout_s=5)
        assert len(rig.sim.connections) == 1
        bridge = rig.registry.bridge(call_uuid)
        assert bridge is not None and bridge.stats.prewarmed
        assert rig.counts.used == 1
    finally:
        await peer.close()


async def test_a_machine_gets_the_server_answering_its_turns_on_the_prewarmed_session(
    rig: Rig,
) -> None:
    call_uuid = await rig.call(amd="MACHINE")
    rig.registry.prewarm(call_uuid, 30)
    await until(lambda: rig.counts.open_now == 1, 5, "the session to open")
    peer = await rig.answer(call_uuid)
    try:
        conn = rig.sim.connections[0]
        second = await conn.wait_for_received("session.update", 2, timeout_s=5)
        assert second["session"]["audio"]["input"]["turn_detection"]["create_response"] is True
        assert len(rig.sim.connections) == 1
    finally:
        await peer.close()


@pytest.fixture
async def failing_rig(db: Database) -> AsyncIterator[Rig]:
    """The first session cannot be opened (nothing listens there); later ones can."""
    async for built in build(db, SimOptions(realtime_factor=4.0), first_url="ws://127.0.0.1:9/v1"):
        yield built


async def test_a_failed_prewarm_falls_back_to_connecting_at_answer(failing_rig: Rig) -> None:
    rig = failing_rig
    call_uuid = await rig.call()
    rig.registry.prewarm(call_uuid, 30)
    await until(lambda: rig.counts.failed == 1, 15, "the prewarm to fail")
    peer = await rig.answer(call_uuid)
    try:
        conn = await rig.sim.wait_for_connection(timeout_s=5)
        await conn.wait_for_received("response.create", timeout_s=5)
        bridge = rig.registry.bridge(call_uuid)
        assert bridge is not None and not bridge.stats.prewarmed
    finally:
        await peer.close()


async def test_shutdown_closes_the_sessions_still_prewarmed(rig: Rig) -> None:
    for _ in range(2):
        rig.registry.prewarm(await rig.call(), 30)
    await until(lambda: rig.counts.open_now == 2, 5, "the sessions to open")
    await rig.registry.aclose()
    await until(lambda: not rig.open_connections(), 5, "every session to be closed")
    assert rig.counts.closed_unused == 2 and rig.counts.open_now == 0


async def test_prewarming_off_in_the_settings_connects_at_answer(rig: Rig) -> None:
    registry = BridgeRegistry(
        rig.db,
        Settings(_env_file=None, realtime_prewarm=False),
        script=call_script,
        realtime=lambda: RealtimeClient(base_url=rig.sim.url, model="gpt-realtime"),
    )
    registry.prewarm(str(uuid.uuid4()), 30)
    assert registry.prewarmer.counts.started == 0
    await registry.aclose()
