"""AudioSocket framing: exact bytes, typed errors, poisoning, and fuzzing of any split."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media.audiosocket_codec import (
    AUDIO_SAMPLE_RATES,
    AudioFrame,
    AudioSocketParser,
    AudioSocketProtocolError,
    BadFrameLength,
    BadFramePayload,
    DtmfFrame,
    ErrorFrame,
    Frame,
    HangupFrame,
    Kind,
    UnknownFrameKind,
    UuidFrame,
    encode_audio,
    encode_dtmf,
    encode_error,
    encode_frame,
    encode_hangup,
    encode_uuid,
)

CALL = uuid.UUID("0436430c-2b02-624c-2032-570501212b57")


def split_feed(parser: AudioSocketParser, data: bytes, cuts: list[int]) -> list[Frame]:
    frames: list[Frame] = []
    last = 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        frames += parser.feed(data[last:cut])
        last = cut
    return frames


# --- exact bytes -----------------------------------------------------------------------------


def test_encoders_produce_the_documented_bytes() -> None:
    assert encode_hangup() == b"\x00\x00\x00"
    assert encode_uuid(CALL) == b"\x01\x00\x10" + CALL.bytes
    assert encode_uuid(str(CALL)) == encode_uuid(CALL)
    assert encode_dtmf("5") == b"\x03\x00\x015"
    assert encode_dtmf("#") == b"\x03\x00\x01#"
    assert encode_error() == b"\xff\x00\x00"
    assert encode_error(4) == b"\xff\x00\x01\x04"
    pcm = bytes(range(256)) + bytes(64)  # 320 bytes: one 20 ms frame
    assert encode_audio(pcm) == b"\x10\x01\x40" + pcm
    assert encode_audio(b"\x01\x02", Kind.SLIN_16K) == b"\x12\x00\x02\x01\x02"


def test_higher_rate_kinds_follow_asterisk() -> None:
    assert AUDIO_SAMPLE_RATES == {
        0x10: 8000,
        0x11: 12000,
        0x12: 16000,
        0x13: 24000,
        0x14: 32000,
        0x15: 44100,
        0x16: 48000,
        0x17: 96000,
        0x18: 192000,
    }
    frame = AudioSocketParser().feed(b"\x13\x00\x04abcd")[0]
    assert isinstance(frame, AudioFrame)
    assert frame.sample_rate == 24000
    assert frame.duration_ms == pytest.approx(2 / 24)


def test_parser_reads_an_asterisk_stream() -> None:
    pcm = bytes(320)
    stream = encode_uuid(CALL) + encode_audio(pcm) + encode_dtmf("9") + encode_audio(pcm)
    stream += encode_error(1) + encode_hangup()
    assert AudioSocketParser().feed(stream) == [
        UuidFrame(CALL),
        AudioFrame(pcm),
        DtmfFrame("9"),
        AudioFrame(pcm),
        ErrorFrame(1),
        HangupFrame(),
    ]


def test_partial_frames_wait_for_the_rest() -> None:
    parser = AudioSocketParser()
    data = encode_audio(b"\x01\x00" * 160)
    assert parser.feed(data[:1]) == []
    assert parser.feed(data[1:3]) == []
    assert parser.buffered == 3
    assert parser.feed(data[3:100]) == []
    assert parser.feed(data[100:]) == [AudioFrame(b"\x01\x00" * 160)]
    assert parser.buffered == 0


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error", "attrs"),
    [
        (b"\x02\x00\x00", UnknownFrameKind, {"kind": 0x02, "offset": 0}),
        (b"\x19\x00\x02ab", UnknownFrameKind, {"kind": 0x19}),
        (b"\x00\x00\x01x", BadFrameLength, {"kind": 0x00, "length": 1}),
        (b"\x01\x00\x0f", BadFrameLength, {"kind": 0x01, "length": 15}),
        (b"\x03\x00\x02", BadFrameLength, {"kind": 0x03, "length": 2}),
        (b"\x10\x00\x00", BadFrameLength, {"kind": 0x10, "length": 0}),
        (b"\x10\x01\x41", BadFrameLength, {"kind": 0x10, "length": 321}),
        (b"\x10\xff\xfe", BadFrameLength, {"kind": 0x10, "length": 65534}),
        (b"\xff\x00\x02", BadFrameLength, {"kind": 0xFF, "length": 2}),
        (b"\x03\x00\x01x", BadFramePayload, {"kind": 0x03, "payload": b"x"}),
    ],
)
def test_typed_errors_name_the_offending_values(
    data: bytes, error: type[AudioSocketProtocolError], attrs: dict[str, object]
) -> None:
    with pytest.raises(error) as info:
        AudioSocketParser().feed(data)
    for name, value in attrs.items():
        assert getattr(info.value, name) == value
    assert f"0x{attrs['kind']:02x}" in str(info.value)


def test_bad_length_is_caught_from_the_header_alone() -> None:
    assert AudioSocketParser(max_payload=640).feed(b"\x10\x02\x80") == []  # 640: waits
    # 0x0282 = 642 > 640, raised before any payload byte has arrived
    with pytest.raises(BadFrameLength) as info:
        AudioSocketParser(max_payload=640).feed(b"\x10\x02\x82")
    assert info.value.length == 642


def test_error_offset_counts_the_whole_stream() -> None:
    parser = AudioSocketParser()
    parser.feed(encode_uuid(CALL) + encode_audio(bytes(320))[:10])
    with pytest.raises(UnknownFrameKind) as info:
        parser.feed(encode_audio(bytes(320))[10:] + b"\x42\x00\x00")
    assert info.value.offset == 19 + 323


def test_parser_is_poisoned_after_an_error() -> None:
    parser = AudioSocketParser()
    with pytest.raises(UnknownFrameKind):
        parser.feed(b"\x42\x00\x00")
    assert isinstance(parser.error, UnknownFrameKind)
    for _ in range(3):
        with pytest.raises(UnknownFrameKind):
            parser.feed(encode_hangup())


def test_encoders_refuse_what_asterisk_would_choke_on() -> None:
    with pytest.raises(ValueError, match="even"):
        encode_audio(b"")
    with pytest.raises(ValueError, match="even"):
        encode_audio(b"\x00")
    with pytest.raises(ValueError, match="not an AudioSocket audio kind"):
        encode_audio(b"\x00\x00", Kind.DTMF)
    with pytest.raises(ValueError, match="DTMF"):
        encode_dtmf("x")
    with pytest.raises(ValueError, match="one byte"):
        encode_error(256)


# --- fuzzing ---------------------------------------------------------------------------------

frames_strategy = st.lists(
    st.one_of(
        st.just(HangupFrame()),
        st.uuids().map(UuidFrame),
        st.sampled_from(sorted("0123456789*#ABCD")).map(DtmfFrame),
        st.builds(
            AudioFrame,
            st.integers(1, 400).flatmap(lambda n: st.binary(min_size=2 * n, max_size=2 * n)),
            st.sampled_from(sorted(AUDIO_SAMPLE_RATES)),
        ),
        st.one_of(st.none(), st.integers(0, 255)).map(ErrorFrame),
    ),
    max_size=20,
)


@settings(max_examples=300, deadline=None)
@given(frames=frames_strategy, cuts=st.lists(st.integers(0, 20_000), max_size=30))
def test_round_trip_with_any_split(frames: list[Frame], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(f) for f in frames)
    parser = AudioSocketParser()
    assert split_feed(parser, stream, cuts) == frames
    assert parser.buffered == 0


@settings(max_examples=50, deadline=None)
@given(frames=frames_strategy)
def test_round_trip_byte_by_byte(frames: list[Frame]) -> None:
    stream = b"".join(encode_frame(f) for f in frames)
    parser = AudioSocketParser()
    out: list[Frame] = []
    for i in range(len(stream)):
        out += parser.feed(stream[i : i + 1])
    assert out == frames


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=2000), cuts=st.lists(st.integers(0, 2000), max_size=20))
def test_random_bytes_raise_only_typed_errors(data: bytes, cuts: list[int]) -> None:
    parser = AudioSocketParser(max_payload=1024)
    try:
        frames = split_feed(parser, data, cuts)
    except AudioSocketProtocolError:
        with pytest.raises(AudioSocketProtocolError):
            parser.feed(b"")
        return
    for frame in frames:  # whatever parsed re-encodes to a prefix of the input
        assert encode_frame(frame) in data
