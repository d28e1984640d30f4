"""What the analyzer knows of a call besides its transcript, and the rules that use it.

The callee's words reach the transcript only through input transcription, which can be off,
fail, or have its model retired. The bridge also keeps what the line itself showed (server VAD
turns, the level of the callee's audio: `media.speech_activity.VoiceActivity`), so "the callee
spoke" never depends on transcription alone, and a call with speech but no words goes to the
model with who spoke when, the agent's own words and the recording — and, if even the model
cannot judge it, to the owner — never to "technical failure".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from media.speech_activity import INAUDIBLE, SpeechTurn, VoiceActivity


@dataclass(frozen=True, slots=True)
class Turn:
    """A transcript turn: `speaker` is "agent", "owner" or "callee"."""

    speaker: str
    text: str
    at: dt.datetime | None = None


def callee_words(turns: Sequence[Turn]) -> list[str]:
    """What the callee said that was transcribed ("[inaudible]" turns are not words)."""
    return [
        t.text.strip()
        for t in turns
        if t.speaker == "callee" and t.text.strip() and t.text.strip() != INAUDIBLE
    ]


def callee_spoke(turns: Sequence[Turn], activity: VoiceActivity) -> bool:
    """Any sign the callee spoke: a transcript turn (words or "[inaudible]"), a server VAD
    turn, or their audio at speech level."""
    return activity.spoke or any(t.speaker == "callee" and t.text.strip() for t in turns)


def speech_without_words(turns: Sequence[Turn], activity: VoiceActivity) -> bool:
    """The callee spoke, yet not one of their words was transcribed."""
    return callee_spoke(turns, activity) and not callee_words(turns)


def _clock(at: dt.datetime, start: dt.datetime) -> str:
    seconds = max(0, round((at - start).total_seconds()))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _untranscribed(turn: SpeechTurn, start: dt.datetime) -> str:
    length = turn.duration_ms
    said = f"{length / 1000:.1f} s" if length is not None else "until the call ended"
    return f"callee: [speech, not transcribed: {said} from {_clock(turn.started_at, start)}]"


def render_transcript(turns: Sequence[Turn], activity: VoiceActivity, start: dt.datetime) -> str:
    """The transcript as `speaker: text` lines. When no callee turn was transcribed at all,
    each turn the server's voice detection heard is put in its place in time, so the reader
    sees who spoke when."""
    lines = [(t.at, f"{t.speaker}: {t.text}") for t in turns]
    if not any(t.speaker == "callee" for t in turns):
        lines += [(s.started_at, _untranscribed(s, start)) for s in activity.turns]
    # Stable: turns without a time keep their place relative to each other.
    order = sorted(range(len(lines)), key=lambda i: (lines[i][0] or start, i))
    return "\n".join(lines[i][1] for i in order)


def describe_voice(activity: VoiceActivity, recording_path: str | None) -> str:
    """The line's own account of the callee's voice, for the analyzer's input."""
    if not activity.audio_ms and not activity.vad_turns:
        voice = "- not measured on this call"
    else:
        heard = sum(t.duration_ms or 0 for t in activity.turns)
        voice = "\n".join(
            [
                f"- the voice detection heard the callee speak {activity.vad_turns} time(s), "
                f"{heard / 1000:.1f} s in all",
                f"- {activity.voiced_ms / 1000:.1f} s of the {activity.audio_ms / 1000:.1f} s "
                "of callee audio was at speech level",
                f"- transcription returned {activity.transcribed} callee turn(s) and failed on "
                f"{activity.failed_transcriptions} (shown as {INAUDIBLE})",
            ]
        )
    recording = f"- recording: {recording_path}" if recording_path else "- no recording"
    return f"{voice}\n{recording}"


def unheard_review_question(recording_path: str | None) -> str:
    """What the owner is asked about a call whose callee spoke but could not be read."""
    where = f" The recording is at {recording_path}." if recording_path else ""
    return (
        "The callee spoke, but none of their words could be transcribed, so this call could "
        f"not be judged automatically.{where} Please listen and decide what happens next."
    )
