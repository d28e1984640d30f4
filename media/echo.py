"""Is the callee's audio the line's echo of the agent's own voice? A cheap envelope check.

Many telephone lines send part of what they play back (hybrid echo: the agent's voice returns
10–20 dB quieter, 20–300 ms later). The Realtime server's VAD hears that as the callee
speaking. An echo follows the played audio's envelope: per 20 ms frame, the inbound level in dB
is the played level some frames earlier, less a near-constant attenuation. So for each lag of
0–300 ms the last `window` frames of inbound level are compared with the played levels that
lag earlier: inbound that sits at least `min_attenuation_db` below them with a spread of at
most `max_spread_db` is echo. A person talking over the agent has an envelope of their own —
the difference swings by far more — and is heard as such, even under the echo.

Pure, fed one pair of levels per inbound frame: sixteen lags of eight frames, a few
microseconds of numpy per frame.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Final

import numpy as np

FRAME_MS: Final = 20
FLOOR_DB: Final = -70.0  # quieter than any line's noise: the level of digital silence
PLAYED_DB: Final = -50.0  # played frames quieter than this carry no echo worth judging


def level_db(level: float) -> float:
    """A level (fraction of full scale) in dBFS, floored at `FLOOR_DB`."""
    return max(FLOOR_DB, 20.0 * float(np.log10(level))) if level > 0 else FLOOR_DB


@dataclass(slots=True)
class EchoCheck:
    """Feed `frame(heard_level, played_level)` once per inbound frame, in order."""

    window: int = 8  # frames compared (160 ms)
    max_lag_ms: int = 300
    min_attenuation_db: float = 6.0
    max_spread_db: float = 3.0
    _heard: deque[float] = field(init=False)
    _played: deque[float] = field(init=False)

    def __post_init__(self) -> None:
        self._heard = deque(maxlen=self.window)
        lags = self.max_lag_ms // FRAME_MS
        # Silence before the call: the first frames are compared at every lag too.
        self._played = deque([FLOOR_DB] * lags, maxlen=self.window + lags)

    def frame(self, heard_level: float, played_level: float) -> bool:
        """True when the inbound frame just heard is explained as echo of the played audio.

        `played_level` is the level of the agent's frame the line was playing as this inbound
        frame arrived (0 while the agent is silent)."""
        self._heard.append(level_db(heard_level))
        self._played.append(level_db(played_level))
        size = len(self._heard)  # fewer than `window` frames at the start of the call
        heard = np.fromiter(self._heard, float, size)
        played = np.fromiter(self._played, float, len(self._played))
        for lag in range(len(played) - size + 1):
            end = len(played) - lag
            then = played[end - size : end]
            loud = then >= PLAYED_DB
            if not loud.any():
                continue  # the agent was silent then: nothing to echo
            diff = heard[loud] - then[loud]
            if diff.mean() <= -self.min_attenuation_db and diff.std() <= self.max_spread_db:
                return True
        return False
