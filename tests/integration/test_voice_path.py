"""The voice path through the real development PBX: the callee's speech reaches the Realtime
server over the session prewarmed while the phone rang, the agent's audio reaches the callee
(what the simulated callee recorded is not silent), barge-in truncates the agent, and
`send_dtmf` takes the agent through a phone menu."""

from __future__ import annotations

import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents.call_agent.rehearsal import script_selector
from agents.schemas import CampaignPlan, Target
from app.node import Node, PartsWanted
from app.rehearsal import node_settings
from core.db import Database
from core.db.models import Call, CallState
from core.settings import Settings
from media.realtime_server import CallTool, RealtimeTestServer, Say, Script, ScriptedResponse
from media.realtime_server.responses import SimOptions
from tests.integration.scheduling import dispatching
from tests.kit import make_user, until
from tests.kit.devpbx import PROJECT

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

LONG = (
    "Hello, this is an AI assistant calling on behalf of Alex Morgan about booking a dental "
    "cleaning next week, in the morning if at all possible, for about an hour."
)
SCRIPTS = {
    "Bright Smile Dental": Script(
        responses=[
            ScriptedResponse(outputs=[Say(text=LONG)]),
            ScriptedResponse(outputs=[Say(text="Sorry, please go ahead.")]),
            ScriptedResponse(
                outputs=[
                    Say(text="Thank you, goodbye."),
                    CallTool(name="end_call", arguments={"reason": "done"}),
                ]
            ),
        ],
        caller_transcripts=["Hello?", "Doctor Smith's dental office, how can I help you?"],
    ),
    # A phone menu answers: the agent listens to the menu, presses 1, and talks to the desk.
    "City Clinic": Script(
        responses=[
            ScriptedResponse(outputs=[CallTool(name="send_dtmf", arguments={"digits": "1"})]),
            ScriptedResponse(outputs=[Say(text="Pressed one for appointments.")]),
            ScriptedResponse(
                outputs=[
                    Say(text="Hello, I would like to book an appointment for Alex Morgan."),
                ]
            ),
            ScriptedResponse(
                outputs=[
                    Say(text="Thank you, goodbye."),
                    CallTool(name="end_call", arguments={"reason": "booked"}),
                ]
            ),
        ],
        caller_transcripts=[
            "Thank you for calling City Clinic. For appointments press 1. For billing press 2.",
            "Connecting you to the appointments desk.",
            "Appointments desk, this is Mark. How can I help you?",
            "Sure, I have put you down for Monday at ten in the morning. Goodbye.",
        ],
    ),
}


@dataclass
class Rig:
    node: Node
    db: Database
    sim: RealtimeTestServer
    user_id: int
    events: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
async def rig(db: Database, pbx_settings: Settings) -> AsyncIterator[Rig]:
    async with RealtimeTestServer(
        Script(responses=[]),
        options=SimOptions(realtime_factor=1.0),
        select_script=script_selector(SCRIPTS),
    ) as sim:
        settings = node_settings(pbx_settings, sim.url).model_copy(update={"database_url": db.url})
        node = Node(settings, db, PartsWanted(ui=False), ring_timeout_s=10, safety_interval_s=0.5)
        user_id = await make_user(db, "owner", display_name="Alex Morgan")
        rig = Rig(node, db, sim, user_id)
        assert node.telephony is not None
        node.telephony.ami.on_event(lambda e: rig.events.append(dict(e)))
        async with node:
            await node.telephony.ami.wait_connected(20)
            yield rig


async def call(rig: Rig, name: str, phone: str) -> Any:
    plan = CampaignPlan(
        name=name,
        objective="Book an appointment.",
        targets=[Target(name=name, phone=phone)],
        max_attempts=1,
    )
    runner = rig.node.graphs.runner
    orch = await runner.start_orchestration(rig.user_id, plan, plan_id=name)
    assert orch.feedback_id is not None
    await runner.answer_feedback(rig.user_id, orch.feedback_id, {"type": "accept"})
    async with rig.db.scope(rig.user_id) as s:
        (task,) = await s.tasks.list_for_campaign(
            orch.campaign_id or (await s.campaigns.list())[0].id
        )

    async def finished() -> Call | None:
        async with rig.db.scope(rig.user_id) as s:
            calls = await s.calls.list_for_task(task.id)
            status = (await s.tasks.require(task.id)).status
        ended = calls and calls[-1].state is CallState.ENDED
        return calls[-1] if ended and status.value not in ("pending", "claimed") else None

    return await until(dispatching(rig.node, finished), 120, "the call to finish", step=0.5)


def voiced_ms(path: Path) -> int:
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64)
    frame = rate // 50
    frames = samples[: len(samples) // frame * frame].reshape(-1, frame)
    rms = np.sqrt((frames**2).mean(axis=1))
    return int((rms > 300).sum() * 20)


def host_path(asterisk_path: str) -> Path:
    return PROJECT / ".devpbx" / "root" / asterisk_path.lstrip("/")


async def test_the_human_hears_the_agent_and_barge_in_truncates(rig: Rig) -> None:
    result = await call(rig, "Bright Smile Dental", "+12125550101")
    # The agent talked on the session opened while the phone rang: no second one at answer,
    # none left open.
    assert rig.node.media is not None
    counts = rig.node.media.registry.prewarmer.counts
    assert (counts.used, counts.open_now, counts.opening_now) == (1, 0, 0)
    assert len(rig.sim.conversations) == 1
    conn = rig.sim.conversations[0]
    # the callee's speech reached the Realtime server and its VAD heard it
    assert conn.input_audio_ms > 2000
    assert "input_audio_buffer.speech_started" in conn.sent_types()
    # the callee spoke over the long greeting: it was cut to what had been played
    assert conn.truncations, "no barge-in"
    assert conn.truncations[0].audio_end_ms < 9000
    # what the simulated callee recorded of the call has the agent's voice in it
    heard = [
        e
        for e in rig.events
        if e.get("UserEvent") == "SimCallee" and e.get("CallUUID") == result.call_uuid
    ]
    assert heard, "the simulated callee announced no recording"
    recording = host_path(heard[0]["HeardFile"])
    await until(recording.exists, 5, f"the callee's recording {recording}", step=0.25)
    assert voiced_ms(recording) > 1000, "the callee heard silence"
    # transcripts of both sides were stored
    roles = {t["role"] for t in result.transcript}
    assert {"agent", "callee"} <= roles


async def test_send_dtmf_takes_the_agent_through_the_phone_menu(rig: Rig) -> None:
    result = await call(rig, "City Clinic", "+12125550106")
    conn = rig.sim.conversations[0]
    # the menu's words reached the Realtime server, and its VAD ended the menu's turn
    assert "input_audio_buffer.speech_stopped" in conn.sent_types()
    routed = [
        e
        for e in rig.events
        if e.get("UserEvent") == "SimIVR" and e.get("CallUUID") == result.call_uuid
    ]
    assert routed, "the phone menu routed nothing"
    assert (routed[0]["Digit"], routed[0]["Route"]) == ("1", "appointments")
    said = [t["text"] for t in result.transcript if t["role"] == "callee"]
    assert any("press 1" in text for text in said)
