"""Listening in, without sockets: the mix of both sides on the outbound clock, the bounded
queues that drop the oldest audio, the records on the wire, and whose line is whose."""

from __future__ import annotations

import asyncio

import numpy as np

from media.audio import SLIN_SILENCE_FRAME, slin_to_ulaw, ulaw_to_samples
from media.listen import (
    INBOUND_WAITING,
    LISTENER_FRAMES,
    CallLine,
    CallLines,
    LineMix,
    decode_records,
    encode_record,
)
from media.playout import PlayoutBuffer


def frame(value: int) -> bytes:
    """A 20 ms s16le frame whose every sample is `value`."""
    return np.full(160, value, dtype="<i2").tobytes()


def samples(pcm: bytes) -> list[int]:
    return sorted(set(np.frombuffer(pcm, dtype="<i2").tolist()))


def test_each_outbound_frame_takes_the_oldest_callee_frame_waiting() -> None:
    mix = LineMix()
    assert mix.mix(frame(100)) == frame(100)  # the callee sent nothing: the agent alone
    mix.inbound(frame(1))
    mix.inbound(frame(2))
    assert samples(mix.mix(frame(100))) == [101]
    assert samples(mix.mix(SLIN_SILENCE_FRAME)) == [2]
    assert mix.mix(frame(7)) == frame(7)


def test_the_mix_is_clipped_not_wrapped() -> None:
    mix = LineMix()
    mix.inbound(frame(30000))
    assert samples(mix.mix(frame(30000))) == [32767]
    mix.inbound(frame(-30000))
    assert samples(mix.mix(frame(-30000))) == [-32768]


def test_callee_frames_wait_a_bounded_time() -> None:
    mix = LineMix()
    for n in range(INBOUND_WAITING + 3):
        mix.inbound(frame(n))
    assert mix.dropped == 3
    assert samples(mix.mix(SLIN_SILENCE_FRAME)) == [3]  # the oldest still waiting


def test_records_round_trip_and_a_partial_one_waits() -> None:
    one, two = encode_record(b"\x01\x02", 1000.5), encode_record(b"\x03" * 160, 2000.25)
    data = one + two
    assert decode_records(data) == ([(b"\x01\x02", 1000.5), (b"\x03" * 160, 2000.25)], b"")
    assert decode_records(data[:-1]) == ([(b"\x01\x02", 1000.5)], two[:-1])
    assert decode_records(b"\x05") == ([], b"\x05")


def _line(clock_ms: list[float]) -> CallLine:
    return CallLine(7, 42, clock=lambda: clock_ms[0] / 1000)


async def test_a_listener_reads_everything_queued_since_its_last_record() -> None:
    now = [5000.0]
    line = _line(now)
    line.outbound(frame(100))  # nobody listens: nothing is mixed
    listener = line.listen()
    assert listener is not None
    records = listener.records()
    line.inbound(frame(1))
    line.outbound(frame(100))
    now[0] = 5020.0
    line.outbound(SLIN_SILENCE_FRAME)
    [(audio, at)], _ = decode_records(await anext(records))
    assert at == 5020.0  # the newest frame's mix time
    assert audio == slin_to_ulaw(frame(101)) + slin_to_ulaw(SLIN_SILENCE_FRAME)
    assert listener.sent_bytes == 320
    await records.aclose()
    assert line.listeners == 0


async def test_a_listener_that_falls_behind_loses_its_oldest_audio_only() -> None:
    line = _line([0.0])
    listener = line.listen()
    assert listener is not None
    for n in range(LISTENER_FRAMES + 10):
        line.outbound(frame(n * 100))
    assert listener.dropped == 10
    [(audio, _)], _ = decode_records(await anext(listener.records()))
    assert len(audio) == LISTENER_FRAMES * 160
    first = ulaw_to_samples(audio[:160])
    assert abs(int(first[0]) - 1000) < 40  # frame 10 is the oldest kept (μ-law rounds)


async def test_the_end_of_the_call_ends_every_listener() -> None:
    ended: list[CallLine] = []
    line = CallLine(7, 42, on_end=ended.append)
    first, second = line.listen(), line.listen()
    assert first is not None and second is not None
    line.outbound(frame(5))
    line.end()
    [_record] = [r async for r in first.records()]  # what was queued, then the end
    assert [r async for r in second.records()] != []
    assert ended == [line] and line.listen() is None


async def test_a_line_has_a_bounded_number_of_listeners() -> None:
    line = CallLine(7, 42, max_listeners=2)
    first, second = line.listen(), line.listen()
    assert first is not None and second is not None
    assert line.listen() is None
    first.leave()
    assert line.listen() is not None


def test_a_line_is_found_for_its_owner_only() -> None:
    lines = CallLines()
    line = lines.open(7, 42)
    assert lines.line(7, 42) is line
    assert lines.line(8, 42) is None  # another user's call: as if there were none
    assert lines.line(7, 43) is None
    line.end()
    assert lines.line(7, 42) is None


async def test_the_playout_tap_sees_every_frame_handed_to_the_line() -> None:
    line = _line([0.0])
    listener = line.listen()
    assert listener is not None
    playout = PlayoutBuffer()
    playout.tap = line.outbound
    playout.push(frame(900) * 2, item_id="i1", response_id="r1")
    sent = [playout.next_frame() for _ in range(3)]  # two of audio, then silence
    assert sent == [frame(900), frame(900), SLIN_SILENCE_FRAME]
    [(audio, _)], _ = decode_records(await asyncio.wait_for(anext(listener.records()), 1))
    assert audio == b"".join(slin_to_ulaw(f) for f in sent)


async def test_a_failure_while_mixing_lets_the_listeners_go_and_never_reaches_the_call() -> None:
    def broken_clock() -> float:
        raise RuntimeError("clock gone")

    line = CallLine(7, 42, clock=broken_clock)
    listener = line.listen()
    assert listener is not None
    playout = PlayoutBuffer()
    playout.tap = line.outbound
    assert playout.next_frame() == SLIN_SILENCE_FRAME  # the pacer still gets its frame
    assert listener.closed and line.listeners == 0
    assert [r async for r in listener.records()] == []
    assert line.listen() is not None  # a new listener may try again
