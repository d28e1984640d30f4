"""Callees people meet on real lines, through the development PBX and the local Realtime server:
a receptionist who puts the agent on hold (hold music), a call screener, a line that echoes
the agent's voice, a person who says "Hello?" and nothing more, and one who talks over the
greeting, and a mailbox that asks for a message after its tone. Each test reads the call back from the database and measures the simulated callee's
recordings (`-heard.wav`: the agent as the callee heard it; `-said.wav`: the callee's side);
the figures are printed (`pytest -s`)."""

from __future__ import annotations

import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.db import Database
from core.db.models import Call, CallOutcome
from core.settings import Settings
from media.realtime_server import CallTool, Say, Script, ScriptedResponse
from tests.integration.voice_rig import (
    Rig,
    call,
    host_path,
    open_rig,
    recording,
    spans,
    voiced_ms,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

HOLD, SCREENER, ECHO, SILENT, TALKER = (f"+1212555011{n}" for n in range(5))
MAILBOX = "+12125550105"  # John Doe's voicemail: greeting, tone, then it records
MESSAGE = "Hi John, this is an AI assistant for Alex Morgan about her check-up, please call back."

GREETING = "Hi, this is an AI assistant calling on behalf of Alex Morgan about a check-up."
LONG = (
    "Hello, this is an AI assistant calling on behalf of Alex Morgan about booking a dental "
    "cleaning next week, in the morning if at all possible, for about an hour."
)
WAIT = ScriptedResponse(outputs=[CallTool(name="wait_on_hold")])
ECHOED = [
    "Hello, this is an AI assistant calling on behalf of Alex Morgan about a dental cleaning.",
    "She would like a morning appointment next week, ideally on Tuesday or on Thursday.",
    "An hour is enough for her, and she can come in any time between eight and eleven.",
    "Her phone number is five five five, one two three, four five six seven, for reminders.",
    "If mornings are full, a slot early in the afternoon would also work for her.",
    "She has been a patient of the practice before, so her records should be on file.",
    "Please let me know which days and times you have, and I will note them down for her.",
    "She asked me to mention that she prefers Doctor Smith, if that is at all possible.",
]


def goodbye(reason: str) -> ScriptedResponse:
    return ScriptedResponse(
        outputs=[
            Say(text="Thank you, goodbye."),
            CallTool(name="end_call", arguments={"reason": reason}),
        ]
    )


SCRIPTS = {
    # Maria puts the agent on hold; after the music the model is asked, hears music and waits
    # on; then she is back, and the model answers her.
    "Riverside Clinic": Script(
        responses=[
            ScriptedResponse(outputs=[Say(text=GREETING)]),
            ScriptedResponse(outputs=[Say(text="Sure, I'll hold."), CallTool(name="wait_on_hold")]),
            WAIT,
            ScriptedResponse(outputs=[Say(text="Hi Maria, I'd like to book a check-up for Alex.")]),
            goodbye("booked"),
        ],
        caller_transcripts=[
            "One moment please, I'll put you on hold.",
            "",  # the hold music: no words
            "Thanks for holding, this is Maria, how can I help you?",
            "Sure, Wednesday at two works, you're booked. Goodbye.",
        ],
    ),
    # The screening service asks who is calling: the agent says who, for whom and why, and
    # waits to be connected.
    "Dana Whitfield": Script(
        responses=[
            ScriptedResponse(
                outputs=[
                    Say(
                        text="Hi, this is an AI assistant calling on behalf of Alex Morgan to confirm Dana's appointment."
                    ),
                    CallTool(name="wait_on_hold"),
                ]
            ),
            WAIT,  # "Please stay on the line."
            ScriptedResponse(
                outputs=[
                    Say(
                        text="Hi Dana, I'm calling for Alex Morgan about your appointment on Tuesday."
                    )
                ]
            ),
            goodbye("message passed on"),
        ],
        caller_transcripts=[
            "The person you are calling uses a screening service, please say your name and "
            "why you are calling.",
            "Please stay on the line.",
            "Hello, this is Dana, sorry to keep you waiting, what can I do for you?",
            "Okay, I'll pass that on. Bye.",
        ],
    ),
    # The line sends the agent's voice back, 10 dB down: each sentence's echo ends a "turn"
    # the server answers with the next sentence.
    "Lakeside Dental": Script(
        responses=[
            *[ScriptedResponse(outputs=[Say(text=text)]) for text in ECHOED],
            goodbye("done"),
        ]
    ),
    "Quiet Street Dental": Script(responses=[ScriptedResponse(outputs=[Say(text=GREETING)])]),
    # The mailbox's greeting is a turn the server answers on its own (a machine's turns are
    # answered as they end), as a model would: the agent cancels that answer and leaves the
    # message instead, once the greeting and its tone are over.
    "John Doe": Script(
        responses=[ScriptedResponse(outputs=[Say(text="Hello, is this John?")])],
        caller_transcripts=[
            "You have reached the voicemail of John Doe. Please leave a message after the tone."
        ],
        replies={MESSAGE: ScriptedResponse(outputs=[Say(text=MESSAGE)])},
    ),
    "Chatty Dental": Script(
        responses=[
            ScriptedResponse(outputs=[Say(text=LONG)]),
            ScriptedResponse(outputs=[Say(text="Of course, we can look at next week together.")]),
            goodbye("rescheduling asked for"),
        ],
        caller_transcripts=[
            "Oh hi, yes, I was hoping you would call, I wanted to ask about moving my "
            "appointment to next week.",
            "Great, thanks. Bye.",
        ],
    ),
}


@pytest.fixture
async def rig(db: Database, pbx_settings: Settings) -> AsyncIterator[Rig]:
    async with open_rig(db, pbx_settings, SCRIPTS) as rig:
        yield rig


async def recordings(rig: Rig, result: Call) -> tuple[Path, Path]:
    """(what the simulated callee heard of the agent, what it said) on the call."""
    (callee,) = rig.user_events("SimCallee", result.call_uuid)
    return await recording(callee["HeardFile"]), await recording(callee["SaidFile"])


def said_by(result: Call, role: str) -> list[str]:
    return [t["text"] for t in result.transcript if t["role"] == role]


def amd(rig: Rig, result: Call) -> str:
    (verdict,) = rig.user_events("OpenDeepAMD", result.call_uuid)
    return str(verdict["Status"])


def measured(what: str, **figures: Any) -> None:
    print(f"\nMEASURED {what}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


async def test_on_hold_the_agent_waits_in_silence_and_comes_back_to_the_person(rig: Rig) -> None:
    result = await call(rig, "Riverside Clinic", HOLD)
    conn = rig.connection()
    heard, said = await recordings(rig, result)
    assert [e["State"] for e in rig.user_events("SimHold", result.call_uuid)] == ["music", "person"]
    # The music: the one long sound the receptionist's side made.
    music_from, music_to = max(spans(said), key=lambda s: s[1] - s[0])
    assert 19_000 <= music_to - music_from <= 21_500
    # The agent began nothing over it (its "Sure, I'll hold" may end as the music starts),
    # nothing cut it off, and the server answered none of it: each sound was put to the
    # model, which chose to wait (no greeting loops).
    assert not [a for a, _ in spans(heard) if music_from < a < music_to]
    agent_over_music = voiced_ms(heard, music_from, music_to)
    assert agent_over_music <= 500
    assert conn.truncations == [] and "response.cancel" not in conn.received_types()
    updates = [e for e in conn.received if e.get("type") == "session.update"]
    respond = [
        e["session"]["audio"]["input"]["turn_detection"]["create_response"]
        for e in updates
        if "turn_detection" in e["session"].get("audio", {}).get("input", {})
    ]
    assert respond[-3:] == [True, False, True]  # greeting asked, on hold, off hold
    # The music still reached the session (the callee's audio flowed on hold).
    assert result.voice_activity["voiced_ms"] >= 18_000
    # Maria is back: the agent answers her.
    maria_from = min(a for a, _ in spans(said) if a > music_to)
    back = min(a for a, _ in spans(heard) if a > maria_from)
    assert back - maria_from < 6000
    assert said_by(result, "agent")[1:3] == [
        "Sure, I'll hold.",
        "Hi Maria, I'd like to book a check-up for Alex.",
    ]
    # The time on hold, from the database: from the agent's wait to Maria's first words.
    on_hold = result.voice_activity["on_hold_ms"]
    assert 18_000 <= on_hold <= 26_000
    measured(
        "hold",
        music_ms=music_to - music_from,
        agent_voiced_over_music_ms=agent_over_music,
        barge_ins=len(conn.truncations),
        hold_checks=sum(
            1
            for e in conn.received
            if e.get("type") == "response.create"
            and str(e.get("response", {}).get("instructions", "")).startswith("You are on hold")
        ),
        on_hold_ms=on_hold,
        maria_to_agent_ms=back - maria_from,
    )


async def test_a_call_screener_hears_who_calls_and_the_call_goes_on(rig: Rig) -> None:
    result = await call(rig, "Dana Whitfield", SCREENER)
    (asked,) = [e for e in rig.user_events("SimScreener", result.call_uuid) if "HeardFile" in e]
    screened = await recording(asked["HeardFile"])
    heard_by_screener = voiced_ms(screened)
    assert heard_by_screener > 2000, "the screener heard nobody"
    assert result.outcome is not CallOutcome.VOICEMAIL  # a machine answered, but no mailbox
    agent = said_by(result, "agent")
    assert "AI assistant" in agent[0] and "on behalf of Alex Morgan" in agent[0]
    # After "Please stay on the line." the agent waited, and talked to Dana once she came on.
    connected = [e for e in rig.user_events("SimScreener", result.call_uuid) if e.get("State")]
    assert connected, "the screener never put the call through"
    turns = [(t["role"], t["text"]) for t in result.transcript]
    stay = turns.index(("callee", "Please stay on the line."))
    assert (
        "agent",
        "Hi Dana, I'm calling for Alex Morgan about your appointment on Tuesday.",
    ) in turns[stay:]
    assert rig.connection().truncations == []
    on_hold = result.voice_activity["on_hold_ms"]
    assert on_hold >= 3000  # waiting to be connected
    measured(
        "screener", amd=amd(rig, result), screener_heard_ms=heard_by_screener, on_hold_ms=on_hold
    )


async def test_the_lines_echo_of_the_agent_cuts_nothing_off(rig: Rig) -> None:
    result = await call(rig, "Lakeside Dental", ECHO)
    conn = rig.connection()
    heard, _ = await recordings(rig, result)
    agent_ms = voiced_ms(heard)
    assert agent_ms >= 35_000
    # The echo came back and the server's VAD heard it as the callee speaking …
    assert result.voice_activity["voiced_ms"] >= 10_000
    turns = len(result.voice_activity["turns"])
    assert turns >= len(ECHOED) - 1
    # … yet the agent was never cut off: every sentence was said whole.
    false_barge_ins = len(conn.truncations)
    assert false_barge_ins == 0 and "response.cancel" not in conn.received_types()
    assert said_by(result, "agent")[: len(ECHOED)] == ECHOED
    measured(
        "echo",
        amd=amd(rig, result),
        agent_speech_s=round(agent_ms / 1000, 1),
        echo_vad_turns=turns,
        false_barge_ins=false_barge_ins,
        false_barge_ins_per_min=round(false_barge_ins / (agent_ms / 60_000), 2),
    )


async def test_a_person_who_says_hello_and_nothing_more_is_greeted(rig: Rig) -> None:
    result = await call(rig, "Quiet Street Dental", SILENT)
    heard, said = await recordings(rig, result)
    (hello, *rest) = spans(said)
    assert rest == []  # they said "Hello?" and nothing else
    greeted = spans(heard)[0][0]
    gap = greeted - hello[1]
    assert 0 < gap <= 2500  # after their "Hello?", not over it, and without a long silence
    assert said_by(result, "agent") == [GREETING]
    assert said_by(result, "callee") == []
    measured(
        "silent person",
        amd=amd(rig, result),
        hello_end_to_greeting_ms=gap,
        answer_to_greeting_ms=greeted,
    )


async def test_a_person_who_talks_over_the_greeting_takes_the_turn(rig: Rig) -> None:
    result = await call(rig, "Chatty Dental", TALKER)
    conn = rig.connection()
    heard, said = await recordings(rig, result)
    talker_from = spans(said)[1][0]  # after their "Hello?"
    (greeting,) = [s for s in spans(heard) if s[0] < talker_from < s[1]]
    overlap = greeting[1] - talker_from
    assert len(conn.truncations) == 1
    assert overlap < 1000  # the threshold (300 ms of their voice), plus the line's delays
    agent = said_by(result, "agent")
    assert len(agent[0]) < len(LONG)  # the greeting was cut where they heard it end
    assert agent[1] == "Of course, we can look at next week together."
    assert any("moving my appointment" in text for text in said_by(result, "callee"))
    measured(
        "talker",
        amd=amd(rig, result),
        overlap_ms=overlap,
        heard_of_greeting_ms=conn.truncations[0].audio_end_ms,
    )


def sound_ms(name: str) -> int:
    """The length of one of the development PBX's prompts."""
    with wave.open(str(host_path(f"/var/lib/asterisk/sounds/opendeep/{name}.wav"))) as w:
        return int(w.getnframes() * 1000 // w.getframerate())


async def test_a_mailbox_gets_the_message_after_its_tone_never_over_its_greeting(
    rig: Rig,
) -> None:
    result = await call(rig, "John Doe", MAILBOX, voicemail_message=MESSAGE)
    assert result.outcome is CallOutcome.VOICEMAIL
    assert amd(rig, result) == "MACHINE"
    heard, _ = await recordings(rig, result)
    (mailbox,) = rig.user_events("SimVoicemail", result.call_uuid)
    message = await recording(mailbox["MessageFile"])
    # The greeting and the tone play from the answer on (the callee's recording starts there).
    tone_ends = sound_ms("vm-greeting") + sound_ms("beep")
    agent = spans(heard)
    assert agent, "the mailbox heard nothing of the agent"
    assert voiced_ms(heard, 0, tone_ends) == 0, agent
    # The race of the mailbox's turn: the server answered the greeting on its own as the
    # agent asked for the message ("conversation_already_has_active_response"); the agent
    # cancelled the server's answer and asked again once that was confirmed. The message was
    # spoken once, last, and the mailbox recorded it after its tone.
    conn = rig.connection()
    errors = [e["error"].get("code") for e in conn.sent if e.get("type") == "error"]
    assert set(errors) <= {"conversation_already_has_active_response"}
    if errors:
        assert "response.cancel" in conn.received_types()
    spoken = said_by(result, "agent")
    assert spoken[-1] == MESSAGE and spoken.count(MESSAGE) == 1
    recorded = voiced_ms(message)
    assert recorded >= 2000
    measured(
        "mailbox",
        tone_ends_ms=tone_ends,
        agent_starts_ms=agent[0][0],
        agent_voiced_ms=voiced_ms(heard),
        message_recorded_voiced_ms=recorded,
        server_answers_cancelled=conn.received_types().count("response.cancel"),
        races=len(errors),
    )
