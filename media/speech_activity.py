"""What the bridge saw of the callee's voice on one call, whether or not words were transcribed.

Input transcription can be off (an allowed setting), fail, or have its model retired; the
callee still spoke. The Realtime server's voice-activity detection (`speech_started` /
`speech_stopped`) and the level of the callee's audio are that evidence, kept here and stored
with the call (`calls.voice_activity`), so the analysis judges the call by what happened on it.

`CalleeVoice` is fed events in order and never does I/O; `VoiceActivity` is what is stored, and
reads back tolerantly (a row from before this existed holds `{}`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from core.domain import SpeechTurnRecord, VoiceActivityRecord
from media.audio import SAMPLE_RATE, rms

INAUDIBLE: Final = "[inaudible]"  # the transcript's text of a callee turn that failed to transcribe
# -35 dBFS: the level the GA server VAD's default threshold (0.5) stands for in the local
# server; telephone line noise sits well below it, speech well above.
SPEECH_LEVEL: Final = 10 ** (-35 / 20)
# Less voiced audio than this, with no VAD turn either, is a click or a burst of noise.
MIN_VOICED_MS: Final = 300
MAX_TURNS: Final = 200  # turns kept per call; a longer call still counts the rest


@dataclass(frozen=True, slots=True)
class SpeechTurn:
    """One callee turn as server VAD reported it.

    `start_ms`/`end_ms` are on the Realtime session's input-audio clock (a resumed session
    starts its own); `started_at`/`ended_at` are when the bridge heard of it, the clock the
    transcript's turns use. `end_ms` is None when the turn never ended (the call did first).
    """

    start_ms: int
    started_at: dt.datetime
    end_ms: int | None = None
    ended_at: dt.datetime | None = None

    @property
    def duration_ms(self) -> int | None:
        return None if self.end_ms is None else max(0, self.end_ms - self.start_ms)

    def record(self) -> SpeechTurnRecord:
        return SpeechTurnRecord(
            start_ms=self.start_ms,
            end_ms=self.end_ms,
            started_at=self.started_at,
            ended_at=self.ended_at,
        )

    @classmethod
    def from_record(cls, record: SpeechTurnRecord) -> SpeechTurn:
        return cls(record.start_ms, record.started_at, record.end_ms, record.ended_at)


@dataclass(frozen=True, slots=True)
class VoiceActivity:
    """The stored evidence of the callee's voice on one call."""

    turns: tuple[SpeechTurn, ...] = ()
    turns_dropped: int = 0  # VAD turns past MAX_TURNS: counted, not kept
    audio_ms: int = 0  # callee audio received
    voiced_ms: int = 0  # of which at speech level
    transcribed: int = 0  # callee turns the input transcription returned
    failed_transcriptions: int = 0  # callee turns whose transcription failed
    on_hold_ms: int = 0  # the callee kept the agent on hold this long (the conversation's count)

    @property
    def vad_turns(self) -> int:
        return len(self.turns) + self.turns_dropped

    @property
    def spoke(self) -> bool:
        """Any sign that the callee spoke: a transcribed or failed turn, a VAD turn, or enough
        audio at speech level."""
        return bool(
            self.transcribed
            or self.failed_transcriptions
            or self.vad_turns
            or self.voiced_ms >= MIN_VOICED_MS
        )

    def record(self) -> VoiceActivityRecord:
        """What is stored in `calls.voice_activity`."""
        return VoiceActivityRecord(
            turns=[t.record() for t in self.turns],
            turns_dropped=self.turns_dropped,
            audio_ms=self.audio_ms,
            voiced_ms=self.voiced_ms,
            transcribed=self.transcribed,
            failed_transcriptions=self.failed_transcriptions,
            on_hold_ms=self.on_hold_ms,
        )

    def to_json(self) -> dict[str, Any]:
        return self.record().to_json()

    @classmethod
    def from_json(cls, data: Any) -> VoiceActivity:
        """Read what `to_json` wrote; anything missing or malformed counts as nothing seen."""
        record = VoiceActivityRecord.read(data)
        return cls(
            turns=tuple(SpeechTurn.from_record(t) for t in record.turns),
            turns_dropped=record.turns_dropped,
            audio_ms=record.audio_ms,
            voiced_ms=record.voiced_ms,
            transcribed=record.transcribed,
            failed_transcriptions=record.failed_transcriptions,
            on_hold_ms=record.on_hold_ms,
        )


def measure(pcm: bytes, sample_rate: int = SAMPLE_RATE) -> tuple[float, float]:
    """(milliseconds, RMS level as a fraction of full scale) of s16le mono `pcm`."""
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
    return samples.size * 1000 / sample_rate, rms(samples)


@dataclass(slots=True)
class CalleeVoice:
    """Collects the callee's voice activity of one call, event by event (no I/O)."""

    level: float = SPEECH_LEVEL
    max_turns: int = MAX_TURNS
    _turns: list[SpeechTurn] = field(init=False, default_factory=list)
    _open: SpeechTurn | None = field(init=False, default=None)
    _dropped: int = field(init=False, default=0)
    _audio_ms: float = field(init=False, default=0.0)
    _voiced_ms: float = field(init=False, default=0.0)
    _transcribed: int = field(init=False, default=0)
    _failed: int = field(init=False, default=0)

    def audio(self, duration_ms: float, level: float) -> None:
        """A stretch of callee audio, measured (`measure`): its length and RMS level."""
        self._audio_ms += duration_ms
        if level >= self.level:
            self._voiced_ms += duration_ms

    def speech_started(self, audio_start_ms: int, at: dt.datetime) -> None:
        """Server VAD: the callee started speaking."""
        if self._open is not None:
            self._keep(self._open)  # its stop never came (a resumed session, say)
        self._open = SpeechTurn(start_ms=audio_start_ms, started_at=at)

    def speech_stopped(self, audio_end_ms: int, at: dt.datetime) -> None:
        """Server VAD: the callee stopped. A stop without a start (from a session that was
        replaced) is ignored."""
        turn, self._open = self._open, None
        if turn is not None:
            self._keep(SpeechTurn(turn.start_ms, turn.started_at, audio_end_ms, at))

    def transcribed(self) -> None:
        self._transcribed += 1

    def transcription_failed(self) -> None:
        self._failed += 1

    def snapshot(self) -> VoiceActivity:
        """Everything seen so far (a turn still open is included, without its end)."""
        turns = list(self._turns)
        dropped = self._dropped
        if self._open is not None:
            if len(turns) < self.max_turns:
                turns.append(self._open)
            else:
                dropped += 1
        return VoiceActivity(
            turns=tuple(turns),
            turns_dropped=dropped,
            audio_ms=round(self._audio_ms),
            voiced_ms=round(self._voiced_ms),
            transcribed=self._transcribed,
            failed_transcriptions=self._failed,
        )

    def _keep(self, turn: SpeechTurn) -> None:
        if len(self._turns) < self.max_turns:
            self._turns.append(turn)
        else:
            self._dropped += 1
