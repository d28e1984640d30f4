"""Pacing: absolute deadlines without drift (fake clock), resync after a stall, and a short real
run (loose timing only: unit tests must not be flaky on a busy machine)."""

from __future__ import annotations

import asyncio
import time

import pytest

from media.pacer import Pacer, PaceSchedule


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


async def test_real_run_sends_immediately_then_every_20_ms() -> None:
    sent: list[float] = []
    start = time.monotonic()
    pacer: Pacer

    async def send() -> None:
        sent.append(time.monotonic())
        if len(sent) == 50:
            pacer.stop()

    pacer = Pacer(send)
    await asyncio.wait_for(pacer.run(), 5.0)
    assert len(sent) == 50
    assert sent[0] - start < 0.015  # the first frame does not wait a period
    mean_period = (sent[-1] - sent[0]) / 49
    assert mean_period == pytest.approx(0.020, abs=0.003)
    assert pacer.stats.frames == 50


async def test_stop_and_cancel_end_the_loop() -> None:
    calls = 0

    async def send() -> None:
        nonlocal calls
        calls += 1

    pacer = Pacer(send)
    task = asyncio.create_task(pacer.run())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 2 <= calls <= 6
