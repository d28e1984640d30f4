"""The bridge's tools and its record of the callee's voice, over real TCP, the local Realtime
server and a real database: DTMF pauses played in band, what the callee's voice did when
transcription fails, a failure that cannot be written, and the owner's disclosure line. (When
the model is asked to go on after tools, and malformed arguments, are tested event by event in
`test_conversation.py`.)"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from agents.call_agent import call_script
from agents.orchestrator import call_instructions
from agents.schemas import parse_plan
from core.db import Database
from core.db.models import CampaignStatus
from core.settings import Settings
from media.audiosocket_codec import AudioFrame
from media.audiosocket_server import AudioSocketServer
from media.bridge import RealtimeBridge
from media.call_store import CallStore
from media.realtime_client import RealtimeClient
from media.realtime_server import CallTool, ConnectionRecord, Say, Script, ScriptedResponse
from media.realtime_server.responses import SimOptions
from media.speech_activity import INAUDIBLE, VoiceActivity
from media.transcript_writer import TranscriptWriter
from tests.kit import make_call, make_campaign, make_task, make_user
from tests.media.fake_asterisk import FakeAsterisk
from tests.media.test_bridge import Seeded, rig, run_call, seed_call
from tests.telephony.conftest import LogLines, log_lines

__all__ = ["log_lines", "rig"]  # fixtures used here


def outputs(conn: ConnectionRecord) -> list[tuple[int, dict[str, Any]]]:
    return [
        (i, json.loads(e["item"]["output"]))
        for i, e in enumerate(conn.received)
        if e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"
    ]


async def call_with(
    rig: tuple[Database, Settings], script: Script, options: SimOptions | None = None
) -> tuple[Any, ...]:
    db, settings = rig
    seeded = await seed_call(db)
    sim, server, registry, callee = await run_call(db, settings, script, seeded, options)
    return db, seeded, sim, server, registry, callee


async def test_send_dtmf_with_a_pause_is_played_in_band(rig: tuple[Database, Settings]) -> None:
    script = Script(
        responses=[
            ScriptedResponse(outputs=[CallTool(name="send_dtmf", arguments={"digits": "1w2"})]),
            ScriptedResponse(outputs=[Say(text="Pressed.")]),
        ]
    )
    _db, _seeded, sim, server, _registry, callee = await call_with(rig, script)
    try:
        conn = await sim.wait_for_connection()
        await conn.wait_for_sent("response.done", 2, timeout_s=10)
        [(_, output)] = outputs(conn)
        assert output == {"pressed": "1w2"}
        # two tones with half a second of silence between them reached the callee
        await asyncio.sleep(1.5)
        loud = [
            any(
                abs(int.from_bytes(f.pcm[i : i + 2], "little", signed=True)) > 4000 for i in (0, 80)
            )
            for _, f in callee.peer.received
            if isinstance(f, AudioFrame)
        ]
        first = loud.index(True)
        runs = "".join("x" if v else "." for v in loud[first:])
        assert runs.lstrip("x").startswith("." * 25)  # ≥ 0.5 s between the two keys
        assert "x" in runs.lstrip("x").lstrip(".")
    finally:
        await callee.peer.close()
        await server.stop()
        await sim.close()


async def test_the_callees_voice_is_recorded_when_transcription_fails(
    rig: tuple[Database, Settings],
) -> None:
    script = Script(
        responses=[
            ScriptedResponse(outputs=[Say(text="Hi, this is an AI assistant.")]),
            ScriptedResponse(outputs=[Say(text="I see, thank you.")]),
            ScriptedResponse(outputs=[Say(text="Goodbye.")]),
        ],
        caller_transcripts=["This must never reach the transcript."] * 2,
    )
    options = SimOptions(realtime_factor=4.0, transcription="fail")
    db, seeded, sim, server, registry, callee = await call_with(rig, script, options)
    try:
        conn = await sim.wait_for_connection()
        await conn.wait_for_sent("response.done", 1, timeout_s=10)
        for turn in (1, 2):
            callee.say_for(0.8)
            await conn.wait_for_sent("input_audio_buffer.speech_stopped", turn, timeout_s=10)
            await conn.wait_for_sent("response.done", turn + 1, timeout_s=10)
    finally:
        await callee.peer.close()
        bridge = registry.bridge(str(seeded.call_uuid))
        assert bridge is not None
        await asyncio.wait_for(bridge.finished.wait(), 10)
        await server.stop()
        await sim.close()
    async with db.scope(seeded.user_id) as s:
        call = await s.calls.require(seeded.call_id)
    activity = VoiceActivity.from_json(call.voice_activity)
    assert activity.spoke
    assert activity.vad_turns == 2
    assert all(t.duration_ms is not None and t.duration_ms >= 800 for t in activity.turns)
    assert activity.voiced_ms >= 1400  # 2 × 0.8 s of tone, less a frame or two
    assert activity.transcribed == 0
    callee_turns = [t["text"] for t in call.transcript if t["role"] == "callee"]
    assert activity.failed_transcriptions == 2
    assert callee_turns == [INAUDIBLE, INAUDIBLE]  # stored as such, not dropped
    assert [t["role"] for t in call.transcript].count("agent") == 3  # the agent's own words


async def test_a_failure_that_cannot_be_marked_is_logged_and_still_reported(
    rig: tuple[Database, Settings], log_lines: LogLines
) -> None:
    """The call's row is not there to write (gone, or never the user's): marking the technical
    failure fails, is logged with its reason, and the bridge's result still says what happened
    (the attempt runner writes the outcome from it)."""
    db, settings = rig
    seeded = await seed_call(db)
    missing_call = seeded.call_id + 1000
    writer = TranscriptWriter(db)
    bridges: list[RealtimeBridge] = []

    async def resolve(_uuid: object) -> RealtimeBridge:
        bridge = RealtimeBridge(
            CallStore(db, settings, seeded.user_id, missing_call),
            settings,
            script=call_script,
            realtime=lambda: RealtimeClient(base_url="ws://127.0.0.1:9/v1", model="m"),
            transcripts=writer,
        )
        bridges.append(bridge)
        return bridge

    server = AudioSocketServer(resolve, port=0)
    await server.start()
    peer = FakeAsterisk(server.port, seeded.call_uuid)
    try:
        await peer.connect()
        await peer.wait_eof(timeout=15)
        await asyncio.wait_for(bridges[0].finished.wait(), 5)
    finally:
        await peer.close()
        await server.stop()
        await writer.aclose()
    result = bridges[0].result
    assert result.technical_failure and result.ended_by == "failure"
    [line] = log_lines.matching("could not mark the call a technical failure")
    assert line["level"] == "error" and line["call_id"] == missing_call
    assert line["reason"] == "internal error in the call bridge"
    assert "NotFound" in line.get("exception", "")


async def test_the_disclosure_line_is_the_owners_own_and_said_once(
    rig: tuple[Database, Settings],
) -> None:
    """The greeting says the owner's own disclosure line; the task sheet the orchestrator
    writes (and the session's instructions with it) carries no other wording."""
    db, settings = rig
    own_line = "Hello, you are speaking with an AI that works for {owner}."
    plan = parse_plan(
        {
            "name": "Dentist",
            "objective": "Book a cleaning next week",
            "targets": [{"name": "Bright Smile Dental", "phone": "+12125550101"}],
        }
    )
    uid = await make_user(
        db, "owner", display_name="Alex Morgan", preferences={"ai_disclosure": own_line}
    )
    call_uuid = uuid.uuid4()
    campaign = await make_campaign(
        db,
        uid,
        name=plan.name,
        objective=plan.objective,
        status=CampaignStatus.PENDING_APPROVAL,
    )
    task = await make_task(
        db,
        uid,
        campaign_id=campaign.id,
        target_name="Bright Smile Dental",
        phone="+12125550101",
        instructions=call_instructions(plan, plan.targets[0], owner="Alex Morgan"),
    )
    call = await make_call(db, uid, task_id=task.id, call_uuid=str(call_uuid))
    seeded = Seeded(uid, call.id, call_uuid)
    script = Script(responses=[ScriptedResponse(outputs=[Say(text="Hello.")])])
    sim, server, _registry, callee = await run_call(db, settings, script, seeded)
    try:
        conn = await sim.wait_for_connection()
        create = await conn.wait_for_received("response.create")
        update = await conn.wait_for_received("session.update")
    finally:
        await callee.peer.close()
        await server.stop()
        await sim.close()
    said = own_line.replace("{owner}", "Alex Morgan")
    assert create["response"]["instructions"].startswith(said)
    session_text = update["session"]["instructions"]
    node_default = settings.ai_disclosure.replace("{owner}", "Alex Morgan")
    assert node_default not in session_text
    assert "greeting" in session_text  # the sheet refers to the greeting's line
