"""Send one frame every 20 ms from absolute monotonic deadlines, without drift.

Asterisk neither paces nor buffers what an AudioSocket application sends, so the application
must. Frame n is due at `t0 + n * period`; sleeping "20 ms after the last send" instead would
drift by every wake-up's lateness. If the loop falls more than `max_late_frames` behind (a
stalled event loop), it does not burst the backlog: it restarts the schedule from now and
counts a resync.

`PaceSchedule` is the pure deadline arithmetic (tested with a fake clock); `Pacer` is the thin
asyncio loop around it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

FRAME_PERIOD_S: Final = 0.020
DEFAULT_MAX_LATE_FRAMES: Final = 3

# Lateness histogram (for percentiles in benchmarks and metrics; a fixed 240 counters per call):
# bin 0 holds [0, 10 µs), each further bin is 5 % wider than the one before, the last one
# (from ~1.1 s) is open-ended. Percentiles read from it are upper bounds, at most 5 % high.
LATENESS_HIST_FLOOR_S: Final = 0.000_01
LATENESS_HIST_RATIO: Final = 1.05
LATENESS_HIST_BINS: Final = 240
_LOG_RATIO: Final = math.log(LATENESS_HIST_RATIO)


def lateness_bin(lateness_s: float) -> int:
    """The histogram bin of a lateness (see `LATENESS_HIST_*`)."""
    if lateness_s < LATENESS_HIST_FLOOR_S:
        return 0
    index = 1 + int(math.log(lateness_s / LATENESS_HIST_FLOOR_S) / _LOG_RATIO)
    return min(LATENESS_HIST_BINS - 1, index)


def lateness_bin_upper_s(index: int) -> float:
    """The upper edge of histogram bin `index` (the last bin has no upper edge: this is its
    lower one)."""
    return LATENESS_HIST_FLOOR_S * LATENESS_HIST_RATIO ** min(index, LATENESS_HIST_BINS - 2)


@dataclass(slots=True)
class PacerStats:
    frames: int = 0
    resyncs: int = 0
    late_frames: int = 0  # sent more than half a period after their deadline
    lateness_sum_s: float = 0.0
    lateness_max_s: float = 0.0
    lateness_histogram: list[int] = field(default_factory=lambda: [0] * LATENESS_HIST_BINS)

    @property
    def lateness_mean_s(self) -> float:
        return self.lateness_sum_s / self.frames if self.frames else 0.0


class PaceSchedule:
    """Deadlines `t0 + n * period` for frame n, with resync when hopelessly late."""

    def __init__(
        self,
        t0: float,
        *,
        period: float = FRAME_PERIOD_S,
        max_late_frames: int = DEFAULT_MAX_LATE_FRAMES,
    ) -> None:
        if period <= 0 or max_late_frames < 1:
            raise ValueError("period must be > 0 and max_late_frames >= 1")
        self.period = period
        self.max_late_frames = max_late_frames
        self._t0 = t0
        self._n = 0
        self.stats = PacerStats()

    @property
    def next_deadline(self) -> float:
        return self._t0 + self._n * self.period

    def delay(self, now: float) -> float:
        """Seconds to wait before the next frame is due (0 when due or overdue).

        When the next frame is overdue by more than `max_late_frames` periods the schedule
        restarts at `now` (counted in `stats.resyncs`), so a stall costs at most that many
        back-to-back catch-up frames, never a burst of the whole backlog.
        """
        late = now - self.next_deadline
        if late > self.max_late_frames * self.period:
            self._t0 = now
            self._n = 0
            self.stats.resyncs += 1
            return 0.0
        return max(0.0, -late)

    def sent(self, now: float) -> None:
        """Record that the due frame went out at `now`; the next deadline is one period on."""
        lateness = max(0.0, now - self.next_deadline)
        stats = self.stats
        stats.frames += 1
        stats.lateness_sum_s += lateness
        stats.lateness_max_s = max(stats.lateness_max_s, lateness)
        stats.lateness_histogram[lateness_bin(lateness)] += 1
        if lateness > self.period / 2:
            stats.late_frames += 1
        self._n += 1


SendFrame = Callable[[], Awaitable[None]]


class Pacer:
    """Calls `send()` once per period until `stop()` or cancellation; the first call is
    immediate (Asterisk wants media from the application straight away)."""

    def __init__(
        self,
        send: SendFrame,
        *,
        period: float = FRAME_PERIOD_S,
        max_late_frames: int = DEFAULT_MAX_LATE_FRAMES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._period = period
        self._max_late_frames = max_late_frames
        self._clock = clock
        self._stopped = asyncio.Event()
        self._schedule: PaceSchedule | None = None

    @property
    def stats(self) -> PacerStats:
        return self._schedule.stats if self._schedule else PacerStats()

    def stop(self) -> None:
        """Ask `run()` to return before its next frame."""
        self._stopped.set()

    async def run(self) -> None:
        """Pace until stopped; an exception from `send` ends the loop and propagates."""
        schedule = PaceSchedule(
            self._clock(), period=self._period, max_late_frames=self._max_late_frames
        )
        self._schedule = schedule
        while not self._stopped.is_set():
            wait = schedule.delay(self._clock())
            if wait > 0:
                await asyncio.sleep(wait)
                if self._stopped.is_set():
                    break
            schedule.sent(self._clock())
            await self._send()
