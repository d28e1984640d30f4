"""Is the callee's audio the line's echo of the agent's own voice? A cheap envelope check.

Many telephone lines send part of what they play back (hybrid echo: the agent's voice returns
10–20 dB quieter, 20–300 ms later; more over mobile and VoIP legs). The Realtime server's VAD
hears that as the callee speaking. An echo follows the played audio's envelope: per 20 ms
frame, the inbound level in dB is the played level some frames earlier, less a near-constant
attenuation. So for each lag of 0–`max_lag_ms` the last `window` frames of inbound level are
compared with the played levels that lag earlier: inbound that sits at least
`min_attenuation_db` below them with a spread of at most `max_spread_db` is echo. A person
talking over the agent has an envelope of their own — the difference swings by far more — and
is heard as such, even under the echo.

Both sides are sequences of 20 ms frames on the PBX's clock: the played levels are every frame
the line played (handed in with the inbound frame that follows them), not the level playing
when an inbound frame happened to arrive — a loaded machine receives the callee's frames in
bunches, and sampling the played level at arrival would smear the envelope exactly then.

Pure, fed once per inbound frame: one vectorised comparison over every lag, a few tens of
microseconds of numpy per frame.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

FRAME_MS: Final = 20
FLOOR_DB: Final = -70.0  # quieter than any line's noise: the level of digital silence
PLAYED_DB: Final = -50.0  # played frames quieter than this carry no echo worth judging


def level_db(level: float) -> float:
    """A level (fraction of full scale) in dBFS, floored at `FLOOR_DB`."""
    return max(FLOOR_DB, 20.0 * float(np.log10(level))) if level > 0 else FLOOR_DB


@dataclass(slots=True)
class EchoCheck:
    """Feed `frame(heard_level, played)` once per inbound frame, in order."""

    window: int = 8  # frames compared (160 ms)
    max_lag_ms: int = 500
    min_attenuation_db: float = 6.0
    max_spread_db: float = 3.0
    _heard: deque[float] = field(init=False)
    _played: deque[float] = field(init=False)

    def __post_init__(self) -> None:
        self._heard = deque(maxlen=self.window)
        lags = self.max_lag_ms // FRAME_MS
        # Silence before the call: the first frames are compared at every lag too.
        self._played = deque([FLOOR_DB] * lags, maxlen=self.window + lags)

    def frame(self, heard_level: float, played: float | Sequence[float]) -> bool:
        """True when the inbound frame just heard is explained as echo of the played audio.

        `played`: the levels of the agent's frames the line played since the previous inbound
        frame, in order (0 for silence) — or one level, the frame playing as this one arrived."""
        self._heard.append(level_db(heard_level))
        for level in (played,) if isinstance(played, float | int) else played:
            self._played.append(level_db(level))
        size = len(self._heard)  # fewer than `window` frames at the start of the call
        if len(self._played) < size:
            return False
        heard = np.fromiter(self._heard, float, size)
        played_db = np.fromiter(self._played, float, len(self._played))
        then = sliding_window_view(played_db, size)  # one row per lag (the last row: lag 0)
        loud = then >= PLAYED_DB  # the agent was silent elsewhere: nothing to echo there
        count = loud.sum(axis=1)
        diff = np.where(loud, heard - then, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = diff.sum(axis=1) / count
            spread = np.sqrt((np.where(loud, diff - mean[:, None], 0.0) ** 2).sum(axis=1) / count)
        echo = (count > 0) & (mean <= -self.min_attenuation_db) & (spread <= self.max_spread_db)
        return bool(echo.any())
