"""The voice path through the real development PBX: the callee's speech reaches the Realtime
server over the session prewarmed while the phone rang, the agent's audio reaches the callee
(what the simulated callee recorded is not silent), barge-in truncates the agent, and
`send_dtmf` takes the agent through a phone menu."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.db import Database
from core.settings import Settings
from media.realtime_server import CallTool, Say, Script, ScriptedResponse
from tests.integration.voice_rig import Rig, call, open_rig, recording, voiced_ms

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


@pytest.fixture
async def rig(db: Database, pbx_settings: Settings) -> AsyncIterator[Rig]:
    async with open_rig(db, pbx_settings, SCRIPTS) as rig:
        yield rig


async def test_the_human_hears_the_agent_and_barge_in_truncates(rig: Rig) -> None:
    result = await call(rig, "Bright Smile Dental", "+12125550101")
    # The agent talked on the session opened while the phone rang: no second one at answer,
    # none left open.
    assert rig.node.call_media is not None
    counts = await rig.node.call_media.prewarm_counts()
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
    assert voiced_ms(await recording(heard[0]["HeardFile"])) > 1000, "the callee heard silence"
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
