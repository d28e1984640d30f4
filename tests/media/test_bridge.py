"""The bridge over real TCP (a stand-in Asterisk peer), the local Realtime server and a real DB.

The same bridge runs against the real development PBX in tests/integration; here every moving
part except Asterisk itself is real, which lets these tests steer the callee precisely. The
conversation's decisions are tested event by event in `test_conversation*.py`; these check that
the bridge carries them out over the wire, the pacer's clock and the database.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from agents.call_agent import call_script
from core.db import Database
from core.db.models import (
    CallOutcome,
    CampaignStatus,
    FeedbackKind,
    FeedbackRequest,
    FeedbackStatus,
)
from core.services import take_over
from core.settings import Settings
from media.audiosocket_codec import AudioFrame, HangupFrame
from media.audiosocket_server import AudioSocketServer
from media.bridge_registry import BridgeRegistry
from media.realtime_client import RealtimeClient
from media.realtime_server import CallTool, RealtimeTestServer, Say, Script, ScriptedResponse
from media.realtime_server.responses import SimOptions
from tests.kit import make_call, make_campaign, make_task, make_user, until
from tests.media.fake_asterisk import FakeAsterisk

SILENCE = b"\x00" * 320


def tone_frame(n: int, amplitude: int = 8000) -> bytes:
    return b"".join(
        int(amplitude * math.sin(2 * math.pi * 440 * (n * 160 + i) / 8000)).to_bytes(
            2, "little", signed=True
        )
        for i in range(160)
    )


class Callee:
    """A fake Asterisk peer whose caller speaks when told to."""

    def __init__(self, port: int, call_uuid: uuid.UUID) -> None:
        self.peer = FakeAsterisk(port, call_uuid)
        self._speak_until = 0.0

    def say_for(self, seconds: float) -> None:
        self._speak_until = time.monotonic() + seconds

    def _audio(self, n: int) -> bytes:
        return tone_frame(n) if time.monotonic() < self._speak_until else SILENCE

    async def start(self) -> None:
        await self.peer.connect()
        self.peer.stream(None, self._audio)

    def agent_audio_frames(self) -> int:
        return sum(1 for _, f in self.peer.received if isinstance(f, AudioFrame) and any(f.pcm))


@dataclass
class Seeded:
    user_id: int
    call_id: int
    call_uuid: uuid.UUID


async def seed_call(
    db: Database, *, voicemail: str | None = None, amd: str | None = None
) -> Seeded:
    """An owner with one call of a campaign waiting for approval (its voicemail message and
    the call's answering-machine verdict as given)."""
    uid = await make_user(db, "owner", display_name="Alex Morgan")
    call_uuid = uuid.uuid4()
    campaign = await make_campaign(
        db, uid, voicemail_message=voicemail, status=CampaignStatus.PENDING_APPROVAL
    )
    task = await make_task(
        db,
        uid,
        campaign_id=campaign.id,
        target_name="Bright Smile Dental",
        phone="+12125550101",
        instructions="Ask for a morning slot.",
    )
    call = await make_call(db, uid, task_id=task.id, call_uuid=str(call_uuid), amd_status=amd)
    return Seeded(uid, call.id, call_uuid)


@pytest.fixture
async def rig(db: Database) -> tuple[Database, Settings]:
    return db, Settings(feedback_timeout_s=10)


async def run_call(
    db: Database,
    settings: Settings,
    script: Script,
    seeded: Seeded,
    options: SimOptions | None = None,
) -> tuple[RealtimeTestServer, AudioSocketServer, BridgeRegistry, Callee]:
    sim = RealtimeTestServer(script, options=options or SimOptions(realtime_factor=4.0))
    await sim.start()
    registry = BridgeRegistry(
        db,
        settings,
        script=call_script,
        realtime=lambda: RealtimeClient(base_url=sim.url, model="gpt-realtime"),
        machine_wait_s=1.0,
    )
    server = AudioSocketServer(registry.resolve, port=0)
    await server.start()
    callee = Callee(server.port, seeded.call_uuid)
    await callee.start()
    return sim, server, registry, callee


async def test_a_whole_conversation_with_a_live_question(rig: tuple[Database, Settings]) -> None:
    db, settings = rig
    seeded = await seed_call(db)
    script = Script(
        responses=[
            ScriptedResponse(
                outputs=[Say(text="Hi, this is an AI assistant calling for Alex Morgan.")]
            ),
            ScriptedResponse(
                outputs=[
                    Say(text="One moment please, let me check."),
                    CallTool(
                        name="request_user_feedback",
                        arguments={"question": "Tuesday 9 or Thursday 10?"},
                    ),
                ]
            ),
            ScriptedResponse(
                outputs=[
                    CallTool(
                        name="record_fact",
                        arguments={
                            "name": "appointment",
                            "value": "Tuesday 9:00",
                            "quote": "Tuesday at nine",
                        },
                    )
                ]
            ),
            ScriptedResponse(
                outputs=[
                    Say(text="Tuesday at nine, perfect. Goodbye!"),
                    CallTool(name="end_call", arguments={"reason": "booked"}),
                ]
            ),
        ],
        caller_transcripts=["We have Tuesday at nine or Thursday at ten."],
    )
    sim, server, registry, callee = await run_call(db, settings, script, seeded)
    try:
        conn = await sim.wait_for_connection()
        greeting = await conn.wait_for_received("response.create", timeout_s=5)
        # the callee says nothing: after the greeting wait the agent greets, then lets the
        # server answer the callee's turns
        await conn.wait_for_received("session.update", 2)
        said = [t for t in conn.received_types() if t != "input_audio_buffer.append"]
        assert said[:3] == ["session.update", "response.create", "session.update"]
        assert (
            "AI assistant calling on behalf of Alex Morgan" in greeting["response"]["instructions"]
        )
        assert conn.session["audio"]["input"]["format"] == {"type": "audio/pcmu"}
        transcription = conn.session["audio"]["input"]["transcription"]
        assert transcription["model"] == settings.realtime_transcription_model
        await conn.wait_for_sent("response.done", 1, timeout_s=10)
        # its audio reaches Asterisk
        await callee.peer.wait_frames(60, timeout=5)
        assert callee.agent_audio_frames() > 10
        # the callee answers; the agent asks the owner
        callee.say_for(0.8)

        async def pending() -> Sequence[FeedbackRequest]:
            async with db.scope(seeded.user_id) as s:
                return await s.feedback.list_pending(FeedbackKind.LIVE_QUESTION)

        [question] = await until(pending, 10, "the live question to reach the database", step=0.1)
        assert question.question == "Tuesday 9 or Thursday 10?"
        assert question.call_id == seeded.call_id
        answered_at = time.monotonic()
        async with db.scope(seeded.user_id) as s:
            assert await s.feedback.answer(question.id, {"text": "Tuesday please"})
        out = await conn.wait_for(lambda: next(iter(conn.function_outputs), None), timeout_s=5)
        # The call reads the row every 0.2 s: even on a loaded machine the answer arrives long
        # before the question's own timeout (a latency figure belongs to a benchmark).
        assert time.monotonic() - answered_at < 3.0, "the answer must reach the call promptly"
        assert "Tuesday please" in out.output
        # then a fact, goodbye and the hang-up
        await callee.peer.wait_eof(timeout=20)
        assert any(isinstance(f, HangupFrame) for _, f in callee.peer.received)
        bridge = registry.bridge(str(seeded.call_uuid))
        assert bridge is not None
        await asyncio.wait_for(bridge.finished.wait(), 5)
        assert bridge.result.ended_by == "agent"
        assert bridge.result.reason == "booked"
    finally:
        await callee.peer.close()
        await server.stop()
        await sim.close()
    async with db.scope(seeded.user_id) as s:
        call = await s.calls.require(seeded.call_id)
        item = await s.feedback.require(question.id)
    roles = [t["role"] for t in call.transcript]
    assert roles[0] == "agent"
    assert "callee" in roles and "owner" in roles
    assert any("Tuesday at nine or Thursday" in t["text"] for t in call.transcript)
    assert call.facts[0]["name"] == "appointment"
    assert call.facts[0]["quote"] == "Tuesday at nine"
    assert item.status is FeedbackStatus.ANSWERED


async def test_the_agent_greets_only_after_the_callees_hello(
    rig: tuple[Database, Settings],
) -> None:
    """A person picks up and says "Hello?" (0.6 s) after AMD could not tell: the agent's
    first audio reaches them only after their words ended — 0 ms of overlap — and the greeting
    is the only response."""
    db, settings = rig
    seeded = await seed_call(db, amd="NOTSURE")
    script = Script(
        responses=[ScriptedResponse(outputs=[Say(text="Hi, I am an AI assistant calling.")])],
        caller_transcripts=["Hello?"],
    )
    sim, server, _registry, callee = await run_call(db, settings, script, seeded)
    try:
        conn = await sim.wait_for_connection()
        await conn.wait_for_sent("session.updated", timeout_s=5)
        hello_starts = time.monotonic()
        callee.say_for(0.6)
        hello_ends = hello_starts + 0.6
        await conn.wait_for_sent("response.done", timeout_s=10)
        await callee.peer.wait_frames(len(callee.peer.received) + 5, timeout=2)
        first_audio = next(
            t for t, f in callee.peer.received if isinstance(f, AudioFrame) and any(f.pcm)
        )
        overlap_ms = max(0.0, hello_ends - max(hello_starts, first_audio)) * 1000
        assert overlap_ms == 0
        creates = [e for e in conn.received if e["type"] == "response.create"]
        assert len(creates) == 1  # ours, with the greeting; the server made none of its own
        assert "AI assistant" in creates[0]["response"]["instructions"]
        assert "error" not in conn.sent_types(), conn.sent_types()
        # After the greeting the server answers the callee's turns itself; the campaign's
        # turn-taking defaults reached the session, the server never cutting the agent off.
        [*_, last_update] = [e for e in conn.received if e["type"] == "session.update"]
        assert last_update["session"]["audio"]["input"]["turn_detection"]["create_response"]
        heard = conn.session["audio"]["input"]
        assert heard["noise_reduction"] == {"type": "near_field"}
        assert heard["turn_detection"]["silence_duration_ms"] == 500
        assert heard["turn_detection"]["interrupt_response"] is False
    finally:
        await callee.peer.close()
        await server.stop()
        await sim.close()


async def test_barge_in_cuts_the_agent_off_and_truncates(rig: tuple[Database, Settings]) -> None:
    db, settings = rig
    seeded = await seed_call(db)
    long_text = "Hello, I am calling about a dental appointment. " * 12
    script = Script(
        responses=[
            ScriptedResponse(outputs=[Say(text=long_text)]),
            ScriptedResponse(outputs=[Say(text="Sorry, go ahead.")]),
        ],
        caller_transcripts=["Hold on, who is this?"],
    )
    sim, server, registry, callee = await run_call(
        db, settings, script, seeded, SimOptions(realtime_factor=1.0)
    )
    try:
        conn = await sim.wait_for_connection()
        await conn.wait_for_sent("response.created", timeout_s=5)  # the greeting after its wait
        await callee.peer.wait_frames(len(callee.peer.received) + 100, timeout=5)  # ~2 s of it
        callee.say_for(0.8)
        truncation = await conn.wait_for(lambda: next(iter(conn.truncations), None), timeout_s=5)
        frames_at_cut = callee.agent_audio_frames()
        await asyncio.sleep(0.3)
        # at most a couple of frames after the cut: the queue was dropped
        assert callee.agent_audio_frames() - frames_at_cut <= 3
        bridge = registry.bridge(str(seeded.call_uuid))
        assert bridge is not None
        assert bridge.stats.barge_ins == 1
        # What the callee heard: at least the non-silent agent frames that arrived, at most
        # every frame since the agent's first one (its speech has pauses of digital silence).
        frames = [(t, f) for t, f in callee.peer.received if isinstance(f, AudioFrame)]
        first = next(i for i, (_, f) in enumerate(frames) if any(f.pcm))
        assert (
            frames_at_cut * 20 - 100 <= truncation.audio_end_ms <= (len(frames) - first) * 20 + 100
        )
        assert truncation.audio_end_ms < 10_000  # far less than the whole greeting
    finally:
        await callee.peer.close()
        await server.stop()
        await sim.close()


async def test_voicemail_from_amd_leaves_the_message_then_hangs_up(
    rig: tuple[Database, Settings],
) -> None:
    db, settings = rig
    message = "Hi, this is Alex Morgan's assistant, please call back."
    seeded = await seed_call(db, voicemail=message, amd="MACHINE")
    script = Script(responses=[ScriptedResponse(outputs=[Say(text=message)])])
    sim, server, registry, callee = await run_call(db, settings, script, seeded)
    try:
        await callee.peer.wait_eof(timeout=15)
        conn = sim.connections[0]
        creates = [e for e in conn.received if e["type"] == "response.create"]
        assert len(creates) == 1
        assert message in creates[0]["response"]["instructions"]
        assert callee.agent_audio_frames() > 10  # the message played out before the hang-up
        bridge = registry.bridge(str(seeded.call_uuid))
        assert bridge is not None
        assert bridge.result.voicemail and bridge.result.ended_by == "voicemail"
    finally:
        await callee.peer.close()
        await server.stop()
        await sim.close()
    async with db.scope(seeded.user_id) as s:
        call = await s.calls.require(seeded.call_id)
    assert call.outcome is CallOutcome.VOICEMAIL


class HeardAmd:
    """Telephony that heard the dialplan's AMD verdict over AMI before the database has it."""

    def __init__(self, verdict: str) -> None:
        self.verdict = verdict

    async def hangup(self, call_uuid: str) -> None:
        return None

    async def send_dtmf(self, call_uuid: str, digits: str) -> None:
        return None

    async def call_owner(
        self, call_uuid: str, leg_uuid: str, number: str, *, ring_timeout_s: int, audiosocket: str
    ) -> None:
        raise LookupError("no owner's leg in this test")

    async def bridge_owner(self, call_uuid: str, leg_uuid: str) -> None:
        raise LookupError("no owner's leg in this test")

    async def hangup_owner(self, call_uuid: str, leg_uuid: str) -> None:
        return None

    def amd_status(self, call_uuid: str) -> str | None:
        return self.verdict


async def test_the_amd_verdict_telephony_heard_counts_before_the_database_has_it(
    rig: tuple[Database, Settings],
) -> None:
    """The row has no verdict yet, telephony heard MACHINE: the session is opened for a
    machine at once (the server answers its turns) instead of after a second of polling and
    then as for a person."""
    db, settings = rig
    seeded = await seed_call(db)  # amd_status None in the database
    script = Script(responses=[ScriptedResponse(outputs=[Say(text="Hello.")])])
    sim = RealtimeTestServer(script, options=SimOptions(realtime_factor=4.0))
    await sim.start()
    registry = BridgeRegistry(
        db,
        settings,
        script=call_script,
        realtime=lambda: RealtimeClient(base_url=sim.url, model="gpt-realtime"),
        actions=HeardAmd("MACHINE"),
    )
    server = AudioSocketServer(registry.resolve, port=0)
    await server.start()
    callee = Callee(server.port, seeded.call_uuid)
    try:
        await callee.start()
        conn = await sim.wait_for_connection()
        update = await conn.wait_for_received("session.update", timeout_s=5)
        assert update["session"]["audio"]["input"]["turn_detection"]["create_response"] is True
    finally:
        await callee.peer.close()
        await server.stop()
        await sim.close()


async def test_unreachable_realtime_is_a_technical_failure(rig: tuple[Database, Settings]) -> None:
    db, settings = rig
    seeded = await seed_call(db)
    registry = BridgeRegistry(
        db,
        settings,
        script=call_script,
        realtime=lambda: RealtimeClient(base_url="ws://127.0.0.1:9/v1", model="m"),
    )
    server = AudioSocketServer(registry.resolve, port=0)
    await server.start()
    callee = Callee(server.port, seeded.call_uuid)
    try:
        await callee.start()
        await callee.peer.wait_eof(timeout=15)
    finally:
        await callee.peer.close()
        await server.stop()
    async with db.scope(seeded.user_id) as s:
        call = await s.calls.require(seeded.call_id)
    assert call.outcome is CallOutcome.TECHNICAL_FAILURE


async def test_lost_realtime_connection_is_resumed_once(rig: tuple[Database, Settings]) -> None:
    db, settings = rig
    seeded = await seed_call(db)
    script = Script(
        responses=[ScriptedResponse(outputs=[Say(text="Hello there, this is an AI assistant.")])]
        * 3
    )
    sim, server, registry, callee = await run_call(db, settings, script, seeded)
    try:
        conn = await sim.wait_for_connection()
        await conn.wait_for_sent("response.done", 1, timeout_s=10)
        await sim.drop_connections()
        second = await sim.wait_for_connection(index=1, timeout_s=10)
        update = await second.wait_for_received("session.update")
        assert "The line dropped" in update["session"]["instructions"]
        assert "Hello there" in update["session"]["instructions"]
        await second.wait_for_received("response.create")
        bridge = registry.bridge(str(seeded.call_uuid))
        assert bridge is not None
        assert bridge.stats.reconnects == 1
        assert not bridge.finished.is_set()
    finally:
        await callee.peer.close()
        await server.stop()
        await sim.close()


async def test_a_callee_that_goes_quiet_without_frames_still_ends_its_turn(
    rig: tuple[Database, Settings],
) -> None:
    """Asterisk sends no frames while the far end sends no RTP (a silent phone menu): the
    bridge fills the gap with silence so the model's VAD hears the turn end."""
    db, settings = rig
    seeded = await seed_call(db)
    script = Script(
        responses=[
            ScriptedResponse(outputs=[Say(text="Hi, this is an AI assistant.")]),
            ScriptedResponse(outputs=[Say(text="Thank you.")]),
        ],
        caller_transcripts=["For appointments press 1."],
    )
    sim = RealtimeTestServer(script, options=SimOptions(realtime_factor=4.0))
    await sim.start()
    registry = BridgeRegistry(
        db,
        settings,
        script=call_script,
        realtime=lambda: RealtimeClient(base_url=sim.url, model="gpt-realtime"),
    )
    server = AudioSocketServer(registry.resolve, port=0)
    await server.start()
    peer = FakeAsterisk(server.port, seeded.call_uuid)
    try:
        await peer.connect()
        conn = await sim.wait_for_connection()
        await conn.wait_for_sent("response.done", 1, timeout_s=10)
        peer.stream(40, tone_frame)  # 0.8 s of speech, then not one frame more
        started = await conn.wait_for_sent("input_audio_buffer.speech_started", 1, timeout_s=5)
        stopped = await conn.wait_for_sent("input_audio_buffer.speech_stopped", 1, timeout_s=5)
        # the turn: 0.8 s of speech plus the VAD's silence window, on the audio clock
        assert stopped["audio_end_ms"] - started["audio_start_ms"] >= 800
        bridge = registry.bridge(str(seeded.call_uuid))
        assert bridge is not None
        assert bridge.stats.gap_fills > 0
        await conn.wait_for_sent("response.done", 2, timeout_s=10)  # the agent answered the turn
    finally:
        await peer.close()
        await server.stop()
        await sim.close()


class RingsTheOwner(HeardAmd):
    """Telephony that records the owner's leg it was asked to ring (and places none)."""

    def __init__(self) -> None:
        super().__init__("HUMAN")
        self.rung: list[str] = []

    async def call_owner(
        self, call_uuid: str, leg_uuid: str, number: str, *, ring_timeout_s: int, audiosocket: str
    ) -> None:
        self.rung.append(number)


async def test_call_me_in_from_the_live_calls_card_rings_the_owner(
    rig: tuple[Database, Settings],
) -> None:
    """*Call me in* is a row the process's note board reads and hands to the call as its
    TakeOver input: the owner's phone is rung, and the request is marked delivered."""
    db, settings = rig
    seeded = await seed_call(db, amd="HUMAN")
    async with db.users() as users:
        await users.set_owner_phone(seeded.user_id, "+12125550115")
    script = Script(
        responses=[
            ScriptedResponse(outputs=[Say(text="Hello, this is an AI assistant.")]),
            ScriptedResponse(outputs=[Say(text="One moment, I'm connecting you.")]),
        ]
    )
    sim = RealtimeTestServer(script, options=SimOptions(realtime_factor=4.0))
    await sim.start()
    actions = RingsTheOwner()
    registry = BridgeRegistry(
        db,
        settings,
        script=call_script,
        realtime=lambda: RealtimeClient(base_url=sim.url, model="gpt-realtime"),
        actions=actions,
    )
    server = AudioSocketServer(registry.resolve, port=0)
    await server.start()
    callee = Callee(server.port, seeded.call_uuid)
    try:
        await callee.start()
        conn = await sim.wait_for_connection()
        await conn.wait_for_sent("response.done", 1, timeout_s=10)
        sent = await take_over(db, seeded.user_id, seeded.call_id)
        await until(lambda: actions.rung, 5, "the owner's phone to be rung")
        assert actions.rung == ["+12125550115"]

        async def delivered() -> bool:
            async with db.system() as system:
                left = await system.undelivered_notes([(seeded.user_id, seeded.call_id)])
            return all(r.id != sent.note_id or "applied" in (r.payload or {}) for r in left)

        await until(delivered, 5, "the request to be marked delivered")
    finally:
        await callee.peer.close()
        await server.stop()
        await registry.notes.aclose()
        await sim.close()
