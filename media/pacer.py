"""Send one frame every 20 ms from absolute monotonic deadlines, without drift.

Asterisk neither paces nor buffers what an AudioSocket application sends, so the application
must. Frame n is due at `t0 + n * period`; sleeping "20 ms after the last send" instead would
drift by every wake-up's lateness. If the loop falls more than `max_late_frames` behind (a
stalled event loop), it does not burst the backlog: it restarts the schedule from now and
counts a resync.

`PaceSchedule` is the pure deadline arithmetic (tested with a fake clock). `FrameClock` is the
thin asyncio loop around it, shared by every call of a server: one timer sends the frames of
many calls, where a timer and a task per call would put hundreds of wake-ups in each period's
loop iterations (the iteration time is what a frame's lateness is made of). A call joins with
a synchronous `send` and gets its first frame at once (Asterisk wants media from the
application straight away), then one every period on its phase of the shared grid.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from core.logging import get_logger

log = get_logger("opendeep.media.pacer")

FRAME_PERIOD_S: Final = 0.020
DEFAULT_MAX_LATE_FRAMES: Final = 3
DEFAULT_PHASES: Final = 4  # ticks per period: 5 ms apart, each serving a quarter of the calls

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
    lateness_max_s: float = 0.0
    lateness_histogram: list[int] = field(default_factory=lambda: [0] * LATENESS_HIST_BINS)

    def record(self, lateness_s: float, period: float) -> None:
        """Count one frame sent `lateness_s` after its deadline."""
        self.frames += 1
        if lateness_s > self.lateness_max_s:
            self.lateness_max_s = lateness_s
        self.lateness_histogram[lateness_bin(lateness_s)] += 1
        if lateness_s > period / 2:
            self.late_frames += 1


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
        self.stats.record(max(0.0, now - self.next_deadline), self.period)
        self._n += 1


SendFrame = Callable[[], bool]  # sends one frame now; False: stop sending (the call is over)


class ClockMember:
    """One call on a `FrameClock`: its `send` and the lateness of its frames."""

    __slots__ = ("_send", "stats")

    def __init__(self, send: SendFrame) -> None:
        self._send = send
        self.stats = PacerStats()

    def _tick(self, now: float, deadline: float, period: float) -> bool:
        self.stats.record(max(0.0, now - deadline), period)
        return self._send()


class FrameClock:
    """Calls every member's `send()` once per period, from one task that runs while there are
    members. `join` sends the first frame at once; `leave` (or `send` returning False) ends a
    member's frames. An exception from one `send` ends that member only, and is logged.

    The period is cut into `phases` ticks and each member is served on one of them (the least
    busy when it joined): one wake-up serves a share of the calls, not all of them in a burst,
    so a frame waits for fewer sends before its own and the peers' traffic is spread out.
    """

    def __init__(
        self,
        *,
        period: float = FRAME_PERIOD_S,
        phases: int = DEFAULT_PHASES,
        max_late_frames: int = DEFAULT_MAX_LATE_FRAMES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if period <= 0 or max_late_frames < 1 or phases < 1:
            raise ValueError("period must be > 0, phases and max_late_frames >= 1")
        self._period = period
        self._phases = phases
        self._max_late_frames = max_late_frames
        self._clock = clock
        # One insertion-ordered set of members per phase.
        self._slots: list[dict[ClockMember, None]] = [{} for _ in range(phases)]
        self._slot_of: dict[ClockMember, int] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def members(self) -> int:
        return len(self._slot_of)

    def join(self, send: SendFrame) -> ClockMember:
        """Send a first frame now and one every period from then on (needs a running loop)."""
        member = ClockMember(send)
        if not self._call(member, self._clock(), self._clock()):
            return member
        slot = min(range(self._phases), key=lambda i: len(self._slots[i]))
        self._slots[slot][member] = None
        self._slot_of[member] = slot
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="frame-clock")
        return member

    def leave(self, member: ClockMember) -> None:
        """No more frames for `member` (safe to call twice)."""
        slot = self._slot_of.pop(member, None)
        if slot is not None:
            self._slots[slot].pop(member, None)

    async def aclose(self) -> None:
        """Stop the clock's task (members are dropped)."""
        for slot in self._slots:
            slot.clear()
        self._slot_of.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _call(self, member: ClockMember, now: float, deadline: float) -> bool:
        try:
            return member._tick(now, deadline, self._period)
        except Exception:
            log.exception("frame send failed")
            return False

    async def _run(self) -> None:
        clock = self._clock
        tick = self._period / self._phases
        schedule = PaceSchedule(
            clock() + tick, period=tick, max_late_frames=self._max_late_frames * self._phases
        )
        phase = 0
        while self._slot_of:
            resyncs = schedule.stats.resyncs
            wait = schedule.delay(clock())
            if wait > 0:
                await asyncio.sleep(wait)
            elif schedule.stats.resyncs != resyncs:
                for member in self._slot_of:
                    member.stats.resyncs += 1
            deadline = schedule.next_deadline
            slot = self._slots[phase]
            for member in list(slot):
                if member in slot and not self._call(member, clock(), deadline):
                    self.leave(member)
            schedule.sent(clock())
            phase = (phase + 1) % self._phases
