"""Playout buffer: re-framing, silence on underrun, barge-in clearing, played-ms accounting."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media.audio import SLIN_SILENCE_FRAME
from media.playout import PlayoutBuffer


def audio(ms: int, value: int = 1) -> bytes:
    return value.to_bytes(2, "little", signed=True) * (8 * ms)


def test_empty_buffer_plays_silence() -> None:
    buf = PlayoutBuffer()
    assert buf.next_frame() == SLIN_SILENCE_FRAME
    assert buf.stats.silence_frames == 1
    assert buf.is_empty


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 400), max_size=30))
def test_any_chunking_is_reframed_into_320_byte_frames(sizes: list[int]) -> None:
    stream = bytes((i * 7) & 0xFF for i in range(sum(2 * s for s in sizes)))
    buf = PlayoutBuffer()
    pos = 0
    for size in sizes:
        assert buf.push(stream[pos : pos + 2 * size], item_id="a") == 2 * size
        pos += 2 * size
    whole = len(stream) // 320
    assert buf.queued_frames == whole
    played = b"".join(buf.next_frame() for _ in range(whole))
    assert played == stream[: whole * 320]
    # the partial tail waits; flushing pads it with silence
    buf.flush()
    if len(stream) % 320:
        assert buf.next_frame() == stream[whole * 320 :] + bytes(320 - len(stream) % 320)
    assert buf.next_frame() == SLIN_SILENCE_FRAME


def test_a_new_item_flushes_the_previous_tail() -> None:
    buf = PlayoutBuffer()
    buf.push(audio(30, 1), item_id="a")  # 1.5 frames
    buf.push(audio(20, 2), item_id="b")
    frames = [buf.next_frame() for _ in range(3)]
    assert frames[0] == audio(20, 1)
    assert frames[1] == audio(10, 1) + bytes(160)
    assert frames[2] == audio(20, 2)
    assert buf.played_ms("a") == 30
    assert buf.played_ms("b") == 20


def test_played_ms_counts_only_what_was_handed_out() -> None:
    buf = PlayoutBuffer()
    buf.push(audio(1000), item_id="item_1", response_id="resp_1")
    for _ in range(12):
        buf.next_frame()
    assert buf.played_ms("item_1") == 240
    assert buf.response_played_ms("resp_1") == 240
    assert buf.current_item_id == "item_1"
    assert buf.queued_ms == 760
    assert buf.played_ms("other") == 0


def test_clear_drops_everything_and_reports_the_truncation_point() -> None:
    buf = PlayoutBuffer()
    buf.push(audio(1010), item_id="item_1", response_id="resp_1")
    for _ in range(5):
        buf.next_frame()
    cleared = buf.clear()
    assert cleared.item_id == "item_1"
    assert cleared.response_id == "resp_1"
    assert cleared.played_ms == 100
    assert cleared.dropped_ms == 910
    assert cleared.dropped_frames == 46  # 45 whole frames + the 10 ms tail
    assert buf.is_empty
    assert buf.next_frame() == SLIN_SILENCE_FRAME


def test_clear_before_anything_played_reports_zero_ms_of_the_queued_item() -> None:
    buf = PlayoutBuffer()
    buf.push(audio(100), item_id="item_9")
    cleared = buf.clear()
    assert (cleared.item_id, cleared.played_ms, cleared.dropped_ms) == ("item_9", 0, 100)
    assert PlayoutBuffer().clear().item_id is None


def test_buffer_is_bounded_and_counts_overflow() -> None:
    buf = PlayoutBuffer(max_frames=10)
    accepted = buf.push(audio(300), item_id="a")
    assert buf.queued_frames == 10
    assert accepted == 200 * 16
    assert buf.stats.overflow_bytes == 100 * 16


def test_underrun_is_counted_only_while_an_item_is_still_streaming() -> None:
    buf = PlayoutBuffer()
    buf.push(audio(20), item_id="a")
    buf.next_frame()
    buf.next_frame()  # the model is slower than real time: a gap inside the item
    assert buf.stats.underruns == 1
    buf.push(audio(20), item_id="a")
    buf.flush()  # end of the item
    buf.next_frame()
    buf.next_frame()
    assert buf.stats.underruns == 1


def test_odd_byte_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="even"):
        PlayoutBuffer().push(b"\x00")
