"""What the analyzer knows besides the transcript: whether the callee spoke, who spoke when,
and the line's own account of the callee's voice."""

from __future__ import annotations

import datetime as dt

import pytest

from agents.post_call_analyzer.evidence import (
    Turn,
    callee_spoke,
    callee_words,
    describe_voice,
    render_transcript,
    speech_without_words,
    unheard_review_question,
)
from media.speech_activity import INAUDIBLE, SpeechTurn, VoiceActivity

START = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return START + dt.timedelta(seconds=seconds)


AGENT_ONLY = [
    Turn("agent", "Hi, this is an AI assistant calling for Alice.", at(3)),
    Turn("agent", "Tuesday at 9:30 then. Thank you, goodbye.", at(12)),
]
HEARD = VoiceActivity(
    turns=(
        SpeechTurn(0, at(0.5), 1200, at(1.9)),  # "Hello?" before the agent spoke
        SpeechTurn(5000, at(6.0), 8400, at(9.6)),
        SpeechTurn(15000, at(15.2)),  # still talking when the line dropped
    ),
    audio_ms=20_000,
    voiced_ms=4_800,
)


@pytest.mark.parametrize(
    ("turns", "activity", "spoke", "without_words"),
    [
        ([], VoiceActivity(), False, False),  # nobody, nothing
        (AGENT_ONLY, VoiceActivity(audio_ms=20_000, voiced_ms=100), False, False),  # line noise
        (AGENT_ONLY, HEARD, True, True),  # transcription withheld: VAD heard them
        (AGENT_ONLY, VoiceActivity(audio_ms=9000, voiced_ms=2000), True, True),  # level alone
        ([*AGENT_ONLY, Turn("callee", INAUDIBLE)], VoiceActivity(), True, True),  # failed turn
        ([*AGENT_ONLY, Turn("callee", "We have Tuesday.")], VoiceActivity(), True, False),
        ([*AGENT_ONLY, Turn("callee", "We have Tuesday.")], HEARD, True, False),
        ([Turn("owner", "Book Tuesday")], VoiceActivity(), False, False),  # the owner is not them
    ],
)
def test_whether_the_callee_spoke(
    turns: list[Turn], activity: VoiceActivity, spoke: bool, without_words: bool
) -> None:
    assert callee_spoke(turns, activity) is spoke
    assert speech_without_words(turns, activity) is without_words


def test_inaudible_turns_are_not_words() -> None:
    turns = [Turn("callee", INAUDIBLE), Turn("callee", " Yes. "), Turn("agent", "Good.")]
    assert callee_words(turns) == ["Yes."]


def test_untranscribed_speech_takes_its_place_in_time() -> None:
    text = render_transcript(AGENT_ONLY, HEARD, START)
    assert text.splitlines() == [
        "callee: [speech, not transcribed: 1.2 s from 0:00]",
        "agent: Hi, this is an AI assistant calling for Alice.",
        "callee: [speech, not transcribed: 3.4 s from 0:06]",
        "agent: Tuesday at 9:30 then. Thank you, goodbye.",
        "callee: [speech, not transcribed: until the call ended from 0:15]",
    ]


def test_a_transcript_with_the_callees_turns_is_left_as_it_is() -> None:
    turns = [AGENT_ONLY[0], Turn("callee", INAUDIBLE, at(8)), Turn("callee", "Yes.", at(10))]
    assert render_transcript(turns, HEARD, START).splitlines() == [
        "agent: Hi, this is an AI assistant calling for Alice.",
        "callee: [inaudible]",
        "callee: Yes.",
    ]


def test_turns_without_a_time_keep_their_order() -> None:
    turns = [Turn("agent", "one"), Turn("callee", "two"), Turn("agent", "three")]
    assert (
        render_transcript(turns, VoiceActivity(), START) == "agent: one\ncallee: two\nagent: three"
    )


def test_the_voice_section_names_what_was_measured_and_the_recording() -> None:
    text = describe_voice(HEARD, "/var/spool/asterisk/recordings/abc.wav")
    assert "speak 3 time(s), 4.6 s in all" in text
    assert "4.8 s of the 20.0 s" in text
    assert "returned 0 callee turn(s) and failed on 0" in text
    assert "recording: /var/spool/asterisk/recordings/abc.wav" in text
    assert describe_voice(VoiceActivity(), None) == "- not measured on this call\n- no recording"


def test_the_owner_is_pointed_at_the_recording() -> None:
    question = unheard_review_question("/rec/abc.wav")
    assert "The recording is at /rec/abc.wav." in question
    assert "recording" not in unheard_review_question(None)
