"""The callee handed over to the owner, through the development PBX and the local Realtime
server: a callee asks for a person, the agent says it is connecting them and calls
`transfer_to_owner`; the owner's (simulated) phone rings, the agent briefs the owner on that
leg, the PBX bridges the two and the agent leaves. Or the owner does not answer: the agent is
back, offers a callback, and the task is rescheduled. Each test reads the call back from the
database and measures the simulated phones' recordings (`-heard.wav`, `-said.wav`, both from
their answer); the figures are printed (`pytest -s`)."""

from __future__ import annotations

import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.db import Database
from core.db.models import Call
from core.domain import TaskStatus
from core.settings import Settings
from media.owner_leg import owner_leg_uuid
from media.realtime_server import CallTool, Say, Script, ScriptedResponse
from tests.integration.voice_rig import Rig, call, open_rig, recording, spans, voiced_ms
from tests.kit.waiting import until

pytestmark = [
    pytest.mark.asterisk,
    pytest.mark.slow,
]

OWNER_PHONE, OWNER_AWAY, ASKS_PERSON, ASKS_CALLBACK = (f"+1212555011{n}" for n in range(5, 9))
GREETING = "Hi, this is an AI assistant calling on behalf of Alex Morgan about a bill."
CONNECTING = ScriptedResponse(
    outputs=[
        Say(text="Of course, I'm connecting you to Alex now, please stay on the line."),
        CallTool(name="transfer_to_owner", arguments={"reason": "the callee asked for a person"}),
    ]
)
BRIEF = (
    "Alex, this is your assistant. I'm on the line with Harbor Insurance about your March bill;"
    " they asked to speak to you. Connecting you now."
)
SCRIPTS = {
    "Harbor Insurance": Script(
        responses=[
            ScriptedResponse(outputs=[Say(text=GREETING)]),
            CONNECTING,
            ScriptedResponse(outputs=[Say(text=BRIEF)]),
        ],
        caller_transcripts=["Can I speak to a person, please?"],
    ),
    "Harbor Billing": Script(
        responses=[
            ScriptedResponse(outputs=[Say(text=GREETING)]),
            CONNECTING,
            ScriptedResponse(
                outputs=[Say(text="I'm sorry, Alex can't come to the phone. Can they call back?")]
            ),
            ScriptedResponse(
                outputs=[
                    Say(text="Of course, tomorrow morning. Goodbye."),
                    CallTool(name="end_call", arguments={"reason": "callback agreed"}),
                ]
            ),
        ],
        caller_transcripts=[
            "Can I speak to a person, please?",
            "Okay. Then please call me back tomorrow morning. Bye.",
        ],
    ),
}


@pytest.fixture
async def rig(db: Database, pbx_settings: Settings) -> AsyncIterator[Rig]:
    async with open_rig(db, pbx_settings, SCRIPTS) as rig:
        yield rig


async def owner_phone(rig: Rig, number: str) -> None:
    async with rig.db.users() as users:
        await users.set_owner_phone(rig.user_id, number)


async def finished(asterisk_path: str) -> Path:
    """A recording once it is closed (its WAV header written): a bridged call goes on in the
    PBX after the agent's part of it has ended."""
    path = await recording(asterisk_path)

    def readable() -> bool:
        try:
            with wave.open(str(path)):
                return True
        except (wave.Error, EOFError):
            return False

    await until(readable, 120, f"the recording {path} to be closed", step=0.5)
    return path


async def phone_files(rig: Rig, call_uuid: str) -> tuple[Path, Path]:
    """(what a simulated phone heard, what it said) on the leg named `call_uuid`."""
    (answered,) = rig.user_events("SimCallee", call_uuid)
    return await finished(answered["HeardFile"]), await finished(answered["SaidFile"])


def roles(result: Call, role: str) -> list[str]:
    return [t["text"] for t in result.transcript if t["role"] == role]


def measured(what: str, **figures: object) -> None:
    print(f"\nMEASURED {what}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


async def test_the_callee_asks_for_a_person_and_is_bridged_with_the_briefed_owner(
    rig: Rig,
) -> None:
    await owner_phone(rig, OWNER_PHONE)
    result = await call(rig, "Harbor Insurance", ASKS_PERSON)
    leg = owner_leg_uuid(result.call_uuid)
    callee_heard, callee_said = await phone_files(rig, result.call_uuid)
    owner_heard, owner_said = await phone_files(rig, leg)
    assert rig.user_events("SimOwner", leg), "the owner's phone never heard a brief end"
    # The owner heard the brief, on their own leg, before anything else.
    owner_from = spans(owner_said)[0][0]
    brief_ms = voiced_ms(owner_heard, 0, owner_from)
    assert brief_ms > 3000, "the owner heard no brief"
    # The callee heard the agent twice (the greeting, "connecting you"), then only the owner.
    connecting_end = spans(callee_heard)[1][1]
    # The call's own recording goes on through the handover (on the callee's SIP leg, into
    # the same file) and holds the owner's words once bridged.
    call_recording = await finished(f"/var/spool/asterisk/recordings/{result.call_uuid}.wav")
    after_handover = [(a, b) for a, b in spans(call_recording) if a > connecting_end]
    owner_in_recording_ms = sum(b - a for a, b in after_handover)
    assert owner_in_recording_ms > 3000, after_handover
    # The record: the agent's words, then the handover marked; the session closed at the
    # bridge and got no response request after the brief.
    handover = roles(result, "handover")
    assert handover[0].startswith("Ringing the owner to take the call over")
    assert any(t.startswith("To the owner: Alex, this is your assistant") for t in handover)
    assert handover[-1].startswith("The owner took the call over")
    conn = rig.connection()
    assert conn.closed
    asks = [e for e in conn.received if e.get("type") == "response.create"]
    assert len(asks) == 2  # the greeting and the brief; the connecting line was the server's
    # Both phones hear each other through the bridge, and nothing of the agent: what each
    # heard after the bridge is what the other said, give or take a frame's edges.
    callee_to_owner_ms = voiced_ms(owner_heard, owner_from)
    owner_to_callee_ms = voiced_ms(callee_heard, connecting_end)
    question_from = spans(callee_said)[2][0]
    callee_after_ms = voiced_ms(callee_said, question_from)
    owner_said_ms = voiced_ms(owner_said, owner_from)
    measured(
        "handover",
        owner_brief_voiced_ms=brief_ms,
        owner_in_call_recording_ms=owner_in_recording_ms,
        owner_heard_callee_voiced_ms=callee_to_owner_ms,
        callee_said_after_bridge_ms=callee_after_ms,
        callee_heard_owner_voiced_ms=owner_to_callee_ms,
        owner_said_ms=owner_said_ms,
    )
    assert callee_to_owner_ms > 2000, "the owner's phone did not hear the callee"
    assert owner_to_callee_ms > 2000, "the callee's phone did not hear the owner"
    assert abs(callee_to_owner_ms - callee_after_ms) < 1200
    assert abs(owner_to_callee_ms - owner_said_ms) < 1200


async def test_an_owner_who_does_not_answer_brings_the_agent_back_with_a_callback(
    rig: Rig,
) -> None:
    await owner_phone(rig, OWNER_AWAY)
    result = await call(rig, "Harbor Billing", ASKS_CALLBACK)
    handover = roles(result, "handover")
    assert handover[0].startswith("Ringing the owner")
    assert handover[-1] == (
        "The owner did not take the call (the owner did not answer within 25 s); "
        "the agent offered a callback."
    )
    agent = roles(result, "agent")
    assert "I'm sorry, Alex can't come to the phone. Can they call back?" in agent
    async with rig.db.scope(rig.user_id) as s:
        task = await s.tasks.require(result.task_id)
    assert task.status is TaskStatus.PENDING and task.due_at is not None
    assert str(task.last_outcome) == "callback_requested"
    callee_heard, _ = await phone_files(rig, result.call_uuid)
    measured(
        "owner away",
        task_status=task.status.value,
        due_at=task.due_at.isoformat(),
        callee_heard_voiced_ms=voiced_ms(callee_heard),
    )
