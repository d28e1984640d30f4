"""Pacing: absolute deadlines without drift (fake clock), resync after a stall, and a short real
run (loose timing only: unit tests must not be flaky on a busy machine)."""

from __future__ import annotations

import asyncio
import time

import pytest

from media.pacer import FrameClock, PaceSchedule
from tests.kit import until


def test_deadlines_are_absolute_so_lateness_does_not_accumulate() -> None:
    sched = PaceSchedule(100.0)
    now = 100.0
    for n in range(1000):
        assert sched.next_deadline == pytest.approx(100.0 + n * 0.02)
        now = max(now, sched.next_deadline) + 0.004  # every wake-up 4 ms late
        assert sched.delay(now) == 0.0
        sched.sent(now)
    # after 1000 frames the schedule is still anchored at t0: 20 s, not 24 s
    assert sched.next_deadline == pytest.approx(120.0)
    assert sched.stats.frames == 1000
    assert sched.stats.lateness_max_s == pytest.approx(0.004)
    assert sched.stats.resyncs == 0


def test_delay_until_the_next_deadline() -> None:
    sched = PaceSchedule(10.0)
    assert sched.delay(10.0) == 0.0  # the first frame is due at once
    sched.sent(10.0)
    assert sched.delay(10.005) == pytest.approx(0.015)
    assert sched.delay(10.020) == 0.0


def test_a_short_stall_is_caught_up_back_to_back() -> None:
    sched = PaceSchedule(0.0, max_late_frames=3)
    sched.sent(0.0)
    # a stall until 65 ms: frames 1-3 (due at 20, 40, 60 ms) are overdue by at most 45 ms,
    # within the bound, so they go out back to back; frame 4 keeps its 80 ms deadline
    for _ in range(3):
        assert sched.delay(0.065) == 0.0
        sched.sent(0.065)
    assert sched.delay(0.065) == pytest.approx(0.015)
    assert sched.stats.resyncs == 0
    assert sched.stats.late_frames == 2  # 45 and 25 ms late; 5 ms is within half a period


def test_a_long_stall_resyncs_instead_of_bursting() -> None:
    sched = PaceSchedule(0.0, max_late_frames=3)
    sched.sent(0.0)
    assert sched.delay(1.0) == 0.0  # 49 frames overdue: restart from now
    assert sched.stats.resyncs == 1
    assert sched.next_deadline == 1.0
    sched.sent(1.0)
    assert sched.delay(1.0) == pytest.approx(0.02)


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError, match="period"):
        PaceSchedule(0.0, period=0)


async def test_a_member_gets_a_frame_at_once_then_every_20_ms() -> None:
    clock = FrameClock()
    sent: list[float] = []
    done = asyncio.Event()

    def send() -> bool:
        sent.append(time.monotonic())
        if len(sent) == 50:
            done.set()
            return False
        return True

    start = time.monotonic()
    member = clock.join(send)
    assert len(sent) == 1 and sent[0] - start < 0.005  # the first frame does not wait a tick
    await asyncio.wait_for(done.wait(), 5.0)
    await asyncio.sleep(0.06)
    assert len(sent) == 50  # returning False ended its frames
    assert clock.members == 0
    mean_period = (sent[-1] - sent[1]) / 48
    assert mean_period == pytest.approx(0.020, abs=0.003)
    assert member.stats.frames == 50
    await clock.aclose()


@pytest.mark.parametrize("phases", [1, 4])
async def test_members_share_one_timer_on_spread_phases_and_leave_independently(
    phases: int,
) -> None:
    clock = FrameClock(phases=phases)
    a: list[float] = []
    b: list[float] = []
    member_a = clock.join(lambda: a.append(time.monotonic()) is None)
    await asyncio.sleep(0.031)
    member_b = clock.join(lambda: b.append(time.monotonic()) is None)
    await asyncio.sleep(0.1)
    clock.leave(member_a)
    frames_a = len(a)
    await asyncio.sleep(0.1)
    assert len(a) == frames_a  # no frames after leaving
    assert len(b) >= 9
    assert member_b.stats.frames == len(b)
    # after its first frame, b is served on the same grid: on a's ticks with one phase, a
    # quarter period (5 ms) after them with four. The median over b's frames while a ran, so
    # one tick delayed by a loaded machine does not decide it (the phases are 5 ms apart).
    offset = 0.0 if phases == 1 else 0.005
    a_end = a[-1]
    shared = [t for t in b[1:] if t <= a_end]
    assert len(shared) >= 3, (a, b)
    misses = sorted(min(abs(t - ta - offset) for ta in a[1:]) for t in shared)
    assert misses[len(misses) // 2] < 0.002, misses
    await clock.aclose()
    assert clock.members == 0


async def test_a_failing_send_ends_that_member_only() -> None:
    clock = FrameClock()
    good: list[int] = []
    calls = 0

    def bad() -> bool:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("boom")
        return True

    clock.join(bad)
    clock.join(lambda: good.append(1) is None)
    # The other member goes on ticking (logging the traceback takes a few ticks, more on a
    # loaded machine).
    await until(lambda: len(good) >= 5, 5.0, lambda: f"the good member got {len(good)} frames")
    assert calls == 2
    assert clock.members == 1
    await clock.aclose()


async def test_a_stalled_loop_resyncs_every_member() -> None:
    clock = FrameClock()
    member = clock.join(lambda: True)
    await asyncio.sleep(0.03)
    time.sleep(0.2)  # block the loop for ten periods
    await asyncio.sleep(0.05)
    assert member.stats.resyncs == 1
    await clock.aclose()


def test_invalid_clock_parameters() -> None:
    with pytest.raises(ValueError, match="period"):
        FrameClock(period=0)
    with pytest.raises(ValueError, match="phases"):
        FrameClock(phases=0)
