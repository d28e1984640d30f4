"""The callee's voice activity, event by event: VAD turns, audio level, transcriptions."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from media.speech_activity import MAX_TURNS, CalleeVoice, SpeechTurn, VoiceActivity, measure

T0 = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def frame(amplitude: int) -> bytes:
    """20 ms of a 440 Hz tone at 8 kHz (amplitude 0: digital silence)."""
    return b"".join(
        int(amplitude * math.sin(2 * math.pi * 440 * i / 8000)).to_bytes(2, "little", signed=True)
        for i in range(160)
    )


def test_nothing_seen_is_no_speech() -> None:
    activity = CalleeVoice().snapshot()
    assert activity == VoiceActivity()
    assert not activity.spoke


def test_vad_turns_are_kept_with_their_times() -> None:
    voice = CalleeVoice()
    voice.speech_started(700, at(1.0))
    voice.speech_stopped(2100, at(2.5))
    voice.speech_started(4000, at(4.3))  # still talking when the call ended
    activity = voice.snapshot()
    assert activity.spoke and activity.vad_turns == 2
    assert activity.turns == (
        SpeechTurn(700, at(1.0), 2100, at(2.5)),
        SpeechTurn(4000, at(4.3)),
    )
    assert [t.duration_ms for t in activity.turns] == [1400, None]
    assert activity.transcribed == 0


def test_a_stop_without_its_start_is_ignored_and_a_lost_stop_keeps_the_turn() -> None:
    voice = CalleeVoice()
    voice.speech_stopped(500, at(0.5))  # from a session that was replaced
    voice.speech_started(100, at(1.0))
    voice.speech_started(300, at(2.0))  # the first turn's stop never came
    voice.speech_stopped(900, at(2.6))
    assert voice.snapshot().turns == (
        SpeechTurn(100, at(1.0)),
        SpeechTurn(300, at(2.0), 900, at(2.6)),
    )


@pytest.mark.parametrize(
    ("frames", "amplitude", "voiced_ms", "spoke"),
    [
        (50, 0, 0, False),  # a second of digital silence
        (50, 200, 0, False),  # line noise, -44 dBFS
        (10, 8000, 200, False),  # a 200 ms burst: a click, not speech
        (20, 8000, 400, True),  # 400 ms at speech level
    ],
)
def test_audio_level_counts_as_speech_only_above_the_threshold(
    frames: int, amplitude: int, voiced_ms: int, spoke: bool
) -> None:
    voice = CalleeVoice()
    for _ in range(frames):
        voice.audio(*measure(frame(amplitude)))
    activity = voice.snapshot()
    assert activity.audio_ms == frames * 20
    assert activity.voiced_ms == voiced_ms
    assert activity.spoke is spoke


def test_transcriptions_that_came_or_failed_count_as_speech() -> None:
    voice = CalleeVoice()
    voice.transcription_failed()
    assert voice.snapshot().spoke
    voice.transcribed()
    assert (voice.snapshot().transcribed, voice.snapshot().failed_transcriptions) == (1, 1)


def test_turns_past_the_limit_are_counted_not_kept() -> None:
    voice = CalleeVoice(max_turns=2)
    for i in range(3):
        voice.speech_started(i * 1000, at(i))
        voice.speech_stopped(i * 1000 + 500, at(i + 0.5))
    voice.speech_started(9000, at(9))
    activity = voice.snapshot()
    assert len(activity.turns) == 2
    assert activity.turns_dropped == 2 and activity.vad_turns == 4
    assert MAX_TURNS >= 100


def test_round_trip_through_json_and_tolerant_reading() -> None:
    voice = CalleeVoice()
    voice.speech_started(700, at(1.0))
    voice.speech_stopped(2100, at(2.5))
    voice.audio(*measure(frame(8000)))
    voice.transcription_failed()
    activity = voice.snapshot()
    assert VoiceActivity.from_json(activity.to_json()) == activity
    # A row from before the column existed, or junk, reads as nothing seen.
    assert VoiceActivity.from_json({}) == VoiceActivity()
    assert VoiceActivity.from_json(None) == VoiceActivity()
    junk = {"turns": [{"start_ms": "x"}, 3], "voiced_ms": -5, "transcribed": True}
    assert VoiceActivity.from_json(junk) == VoiceActivity()
