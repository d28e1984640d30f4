"""Energy voice-activity detection for the local Realtime server (no model: RMS per 20 ms).

The GA `server_vad` knobs keep their meaning: `threshold` (0–1, higher needs louder speech) maps
to an RMS level from -60 dBFS (0.0) to -10 dBFS (1.0), -35 dBFS at the default 0.5;
`prefix_padding_ms` moves `audio_start_ms` back; `silence_duration_ms` of quiet ends the turn,
and `audio_end_ms` includes it, as the real server reports.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from media.audio import rms

FRAME_MS: Final = 20
MAX_UTTERANCE_MS: Final = 60_000  # audio kept per caller turn for the transcriber
# The simulated end of turn of `semantic_vad`: low eagerness waits longest.
SEMANTIC_SILENCE_MS: Final = {"low": 1200, "medium": 700, "auto": 700, "high": 300}


def threshold_rms(threshold: float) -> float:
    """RMS level (fraction of full scale) that counts as speech for a GA VAD `threshold`."""
    threshold = min(1.0, max(0.0, threshold))
    return float(10 ** ((-60 + 50 * threshold) / 20))


@dataclass(frozen=True, slots=True)
class VadConfig:
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500

    @classmethod
    def from_turn_detection(cls, td: dict[str, Any]) -> VadConfig:
        """From a session's `turn_detection` object (missing fields keep GA defaults).

        `semantic_vad` has no model here: it is simulated as energy VAD whose silence grows as
        the eagerness falls (`SEMANTIC_SILENCE_MS`)."""
        default = cls()
        if td.get("type") == "semantic_vad":
            eagerness = str(td.get("eagerness") or "auto")
            return cls(silence_duration_ms=SEMANTIC_SILENCE_MS.get(eagerness, 700))

        def pick(name: str, fallback: float) -> float:
            value = td.get(name)
            return float(value) if isinstance(value, int | float) else fallback

        return cls(
            threshold=pick("threshold", default.threshold),
            prefix_padding_ms=int(pick("prefix_padding_ms", default.prefix_padding_ms)),
            silence_duration_ms=int(pick("silence_duration_ms", default.silence_duration_ms)),
        )


@dataclass(frozen=True, slots=True)
class VadStart:
    audio_start_ms: int


@dataclass(frozen=True, slots=True)
class VadStop:
    audio_end_ms: int
    audio: npt.NDArray[np.int16] = field(repr=False)  # the turn, prefix padding included


VadEvent = VadStart | VadStop


class EnergyVad:
    """Feed int16 samples in any chunk sizes; get speech start/stop events on the input clock."""

    def __init__(self, config: VadConfig, sample_rate: int, *, start_ms: int = 0) -> None:
        """`start_ms`: where this detector's input begins on the session's input clock."""
        self.config = config
        self.sample_rate = sample_rate
        self._start_ms = start_ms
        self._frame = sample_rate * FRAME_MS // 1000
        self._level = threshold_rms(config.threshold)
        self._pending = np.zeros(0, dtype=np.int16)
        self._frames_done = 0
        self._speaking = False
        self._silence_ms = 0
        prefix_frames = max(0, config.prefix_padding_ms // FRAME_MS)
        self._prefix: deque[npt.NDArray[np.int16]] = deque(maxlen=prefix_frames or 1)
        self._utterance: list[npt.NDArray[np.int16]] = []

    @property
    def speaking(self) -> bool:
        return self._speaking

    @property
    def position_ms(self) -> int:
        """Milliseconds of input consumed into whole frames."""
        return self._start_ms + self._frames_done * FRAME_MS

    def feed(self, samples: npt.NDArray[np.int16]) -> list[VadEvent]:
        events: list[VadEvent] = []
        data = np.concatenate([self._pending, samples]) if self._pending.size else samples
        whole = len(data) - len(data) % self._frame
        for start in range(0, whole, self._frame):
            event = self._step(data[start : start + self._frame])
            if event is not None:
                events.append(event)
        self._pending = data[whole:].copy()
        return events

    def _step(self, frame: npt.NDArray[np.int16]) -> VadEvent | None:
        start_ms = self.position_ms
        self._frames_done += 1
        loud = rms(frame) >= self._level
        if not self._speaking:
            if not loud:
                if self.config.prefix_padding_ms > 0:
                    self._prefix.append(frame)
                return None
            self._speaking = True
            self._silence_ms = 0
            self._utterance = [*self._prefix, frame]
            self._prefix.clear()
            return VadStart(max(0, start_ms - self.config.prefix_padding_ms))
        if len(self._utterance) * FRAME_MS < MAX_UTTERANCE_MS:
            self._utterance.append(frame)
        self._silence_ms = 0 if loud else self._silence_ms + FRAME_MS
        if self._silence_ms < self.config.silence_duration_ms:
            return None
        self._speaking = False
        audio = np.concatenate(self._utterance)
        self._utterance = []
        return VadStop(self.position_ms, audio)
