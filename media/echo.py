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

Pure, fed once per inbound frame (`feed`: a few appends); the comparison over every lag (one
vectorised step, a few tens of microseconds of numpy) runs only when asked (`is_echo`) and only
while the agent's voice was on the line within the lags compared. The conversation asks for
voiced inbound frames only, which is when it matters (a bid for the turn over the agent): on a
line where the callee mostly listens or the agent mostly listens, the check costs next to
nothing per frame (the media benchmark's 50 calls spent a third of a core on it when every
frame was compared).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.lib.stride_tricks import as_strided

FRAME_MS: Final = 20
FLOOR_DB: Final = -70.0  # quieter than any line's noise: the level of digital silence
PLAYED_DB: Final = -50.0  # played frames quieter than this carry no echo worth judging


def level_db(level: float) -> float:
    """A level (fraction of full scale) in dBFS, floored at `FLOOR_DB`."""
    return max(FLOOR_DB, 20.0 * math.log10(level)) if level > 0 else FLOOR_DB


@dataclass(slots=True)
class EchoCheck:
    """`feed(heard_level, played)` once per inbound frame, in order; `is_echo()` for the frame
    fed last (`frame` does both)."""

    window: int = 8  # frames compared (160 ms)
    max_lag_ms: int = 500
    min_attenuation_db: float = 6.0
    max_spread_db: float = 3.0
    _heard: deque[float] = field(init=False)
    _played: deque[float] = field(init=False)
    _loud: int = field(init=False, default=0)  # played frames in `_played` at least PLAYED_DB

    def __post_init__(self) -> None:
        self._heard = deque(maxlen=self.window)
        lags = self.max_lag_ms // FRAME_MS
        # Silence before the call: the first frames are compared at every lag too.
        self._played = deque([FLOOR_DB] * lags, maxlen=self.window + lags)

    def frame(self, heard_level: float, played: float | Sequence[float]) -> bool:
        """True when the inbound frame just heard is explained as echo of the played audio.

        `played`: the levels of the agent's frames the line played since the previous inbound
        frame, in order (0 for silence) — or one level, the frame playing as this one arrived."""
        self.feed(heard_level, played)
        return self.is_echo()

    def feed(self, heard_level: float, played: float | Sequence[float]) -> None:
        """An inbound frame's level and the played frames' levels since the previous one."""
        self._heard.append(level_db(heard_level))
        window = self._played
        full = window.maxlen
        for level in (played,) if isinstance(played, float | int) else played:
            db = level_db(level)
            if len(window) == full and window[0] >= PLAYED_DB:
                self._loud -= 1  # the oldest loud frame leaves the lags compared
            window.append(db)
            if db >= PLAYED_DB:
                self._loud += 1

    def is_echo(self) -> bool:
        """Whether the frame fed last is explained as echo of the played audio."""
        if self._loud == 0:
            return False  # the agent was silent at every lag: nothing to echo
        size = len(self._heard)  # fewer than `window` frames at the start of the call
        if size == 0 or len(self._played) < size:
            return False
        heard = np.fromiter(self._heard, float, size)
        played_db = np.fromiter(self._played, float, len(self._played))
        step = played_db.strides[0]
        # One row per lag (the last row: lag 0), a view: no copy, none of the checks of
        # `sliding_window_view` (a third of this method's time).
        then = as_strided(played_db, (len(played_db) - size + 1, size), (step, step))
        loud = then >= PLAYED_DB  # the agent was silent elsewhere: nothing to echo there
        count = loud.sum(axis=1)
        diff = (heard - then) * loud
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = diff.sum(axis=1) / count
            variance = (diff * diff).sum(axis=1) / count - mean * mean
        echo = (
            (count > 0)
            & (mean <= -self.min_attenuation_db)
            & (variance <= self.max_spread_db**2 + 1e-9)
        )
        return bool(echo.any())
