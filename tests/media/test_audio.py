"""Audio conversions: exact G.711 μ-law against the standard library's `audioop`, frame
constants, and the anti-aliasing 8 kHz ↔ 24 kHz path."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from media.audio import (
    FRAME_SAMPLES,
    SLIN_FRAME_BYTES,
    SLIN_SILENCE_FRAME,
    ULAW_FRAME_BYTES,
    ULAW_SILENCE_FRAME,
    StreamResampler,
    dtmf_tones,
    resample,
    rms,
    slin_duration_ms,
    slin_silence,
    slin_to_ulaw,
    ulaw_duration_ms,
    ulaw_to_samples,
    ulaw_to_slin,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    audioop = pytest.importorskip("audioop")  # the reference: stdlib up to 3.12, audioop-lts after


def tone(freq: float, rate: int, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.round(amp * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def level_at(samples: np.ndarray, rate: int, freq: float) -> float:
    """Amplitude of `freq` in `samples` (single-bin DFT over a Hann window)."""
    x = samples.astype(np.float64) * np.hanning(len(samples))
    t = np.arange(len(samples)) / rate
    return float(
        abs(np.sum(x * np.exp(-2j * np.pi * freq * t))) / np.sum(np.hanning(len(samples))) * 2
    )


def test_frame_constants() -> None:
    assert (FRAME_SAMPLES, SLIN_FRAME_BYTES, ULAW_FRAME_BYTES) == (160, 320, 160)
    assert bytes(320) == SLIN_SILENCE_FRAME
    assert ULAW_SILENCE_FRAME == b"\xff" * 160
    assert slin_silence(40) == bytes(640)
    assert slin_duration_ms(320) == 20
    assert ulaw_duration_ms(160) == 20


def test_ulaw_encoding_matches_audioop_for_every_sample_value() -> None:
    every = np.arange(-32768, 32768, dtype=np.int16).astype("<i2").tobytes()
    assert slin_to_ulaw(every) == audioop.lin2ulaw(every, 2)


def test_ulaw_decoding_matches_audioop_for_every_code() -> None:
    codes = bytes(range(256))
    assert ulaw_to_slin(codes) == audioop.ulaw2lin(codes, 2)
    assert ulaw_to_samples(codes).dtype == np.int16


def test_ulaw_round_trip_of_silence_and_a_frame() -> None:
    assert slin_to_ulaw(SLIN_SILENCE_FRAME) == ULAW_SILENCE_FRAME
    assert ulaw_to_slin(ULAW_SILENCE_FRAME) == SLIN_SILENCE_FRAME
    pcm = tone(440, 8000, 0.02).astype("<i2").tobytes()
    decoded = np.frombuffer(ulaw_to_slin(slin_to_ulaw(pcm)), dtype="<i2")
    # G.711 keeps ~12 bits of relative precision: error stays within 1/16 of the magnitude + 8
    original = np.frombuffer(pcm, dtype="<i2").astype(np.int32)
    assert np.all(np.abs(decoded - original) <= np.abs(original) / 16 + 8)


def test_odd_length_is_refused() -> None:
    with pytest.raises(ValueError, match="even"):
        slin_to_ulaw(b"\x00")


def test_rms() -> None:
    assert rms(np.zeros(160, dtype=np.int16)) == 0.0
    assert rms(tone(1000, 8000, amp=0.5)) == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)


def test_downsampling_filters_what_8khz_cannot_hold() -> None:
    rate_in = 24000
    audible = tone(1000, rate_in)
    alias = tone(5000, rate_in)  # above 4 kHz: would fold to 3 kHz without a filter
    mixed = (audible.astype(np.int32) + alias).clip(-32768, 32767).astype("<i2")
    out = np.frombuffer(resample(mixed.tobytes(), rate_in, 8000), dtype="<i2")
    assert len(out) == len(mixed) // 3
    body = out[400:-400]
    assert level_at(body, 8000, 1000) == pytest.approx(0.5 * 32767, rel=0.02)
    assert level_at(body, 8000, 3000) < 0.001 * 32767  # no alias of the 5 kHz tone (-60 dB)


def test_stream_resampler_matches_one_shot() -> None:
    samples = tone(440, 8000, 0.5).astype("<i2").tobytes()
    stream = StreamResampler(8000, 24000)
    chunks = [stream.process(samples[i : i + 320]) for i in range(0, len(samples), 320)]
    streamed = np.frombuffer(b"".join(chunks) + stream.flush(), dtype="<i2")
    whole = np.frombuffer(resample(samples, 8000, 24000), dtype="<i2")
    assert abs(len(streamed) - len(whole)) <= 3
    n = min(len(streamed), len(whole))
    assert np.max(np.abs(streamed[:n].astype(np.int32) - whole[:n])) <= 2


def test_resample_same_rate_is_identity() -> None:
    assert resample(b"\x01\x02\x03\x04", 8000, 8000) == b"\x01\x02\x03\x04"


def test_dtmf_tones_hold_the_two_q23_frequencies() -> None:
    pcm = np.frombuffer(dtmf_tones("5", tone_ms=200, gap_ms=0), dtype="<i2")
    assert len(pcm) == 1600
    for freq in (770, 1336):
        assert level_at(pcm, 8000, freq) > 0.3 * 32767
    for other in (697, 852, 1209, 1477):
        assert level_at(pcm, 8000, other) < 0.05 * 32767
    assert len(dtmf_tones("12#")) == 3 * (800 + 640) * 2
    with pytest.raises(ValueError, match="DTMF"):
        dtmf_tones("1x")


def test_dtmf_pause_is_half_a_second_of_silence() -> None:
    plain = len(dtmf_tones("12"))
    paused = dtmf_tones("1w2")
    assert len(paused) == plain + 500 * 8 * 2  # 0.5 s at 8 kHz, 2 bytes a sample
    pcm = np.frombuffer(paused, dtype="<i2")
    key = (100 + 80) * 8  # one tone and its gap
    assert not pcm[key : key + 4000].any()  # the pause is silent
    assert np.abs(pcm[key + 4000 : key + 4000 + 800]).max() > 10000  # then the second key
    with pytest.raises(ValueError, match="w for a pause"):
        dtmf_tones("ww")  # a pause alone presses nothing
