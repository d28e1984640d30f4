"""Audio formats of the call path: 8 kHz s16le (AudioSocket), G.711 μ-law (`audio/pcmu`), and
24 kHz s16le (`audio/pcm`) through a real anti-aliasing resampler.

μ-law uses lookup tables built once from the ITU-T G.711 segment rules (the same integer
algorithm as the reference implementation and CPython's `audioop`), applied with numpy.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import soxr

SAMPLE_RATE: Final = 8000
PCM24_RATE: Final = 24000
FRAME_MS: Final = 20
FRAME_SAMPLES: Final = SAMPLE_RATE * FRAME_MS // 1000  # 160
SLIN_FRAME_BYTES: Final = FRAME_SAMPLES * 2  # 320
ULAW_FRAME_BYTES: Final = FRAME_SAMPLES  # 160
SLIN_BYTES_PER_MS: Final = SAMPLE_RATE * 2 // 1000  # 16
ULAW_SILENCE_BYTE: Final = 0xFF  # μ-law code of linear 0

Int16Array = npt.NDArray[np.int16]

# --- G.711 μ-law ---------------------------------------------------------------------------

_BIAS: Final = 0x84
_CLIP: Final = 8159  # in 14-bit units, i.e. 32635 >> 2


def _build_encode_table() -> npt.NDArray[np.uint8]:
    """μ-law code for every int16 value, indexed by `sample + 32768`."""
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2  # G.711 works on 14-bit magnitudes
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), _CLIP) + (_BIAS >> 2)
    # Segment = how many segment ends (0x3F, 0x7F, … 0x1FFF) the biased magnitude exceeds;
    # past the last one (only the clip value) the code is the segment-7 maximum.
    seg = np.zeros_like(mag)
    for end in (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF):
        seg += mag > end
    code = np.where(seg >= 8, 0x7F, (seg << 4) | ((mag >> (seg + 1)) & 0x0F))
    table: npt.NDArray[np.uint8] = (code ^ mask).astype(np.uint8)
    return table


def _build_decode_table() -> Int16Array:
    """Linear value of every μ-law code."""
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + _BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _BIAS - t, t - _BIAS).astype(np.int16)


_ULAW_ENCODE: Final = _build_encode_table()
_ULAW_DECODE: Final = _build_decode_table()


def _samples(pcm: bytes) -> Int16Array:
    if len(pcm) % 2:
        raise ValueError(f"s16le audio must have an even number of bytes, got {len(pcm)}")
    return np.frombuffer(pcm, dtype="<i2").astype(np.int16, copy=False)


def slin_to_ulaw(pcm: bytes) -> bytes:
    """G.711 μ-law bytes (one per sample) of s16le `pcm`; raises `ValueError` on odd length."""
    samples = _samples(pcm).astype(np.int32) + 32768
    return bytes(_ULAW_ENCODE[samples].tobytes())


def ulaw_to_samples(data: bytes) -> Int16Array:
    """Linear int16 samples of G.711 μ-law `data`."""
    return _ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def ulaw_to_slin(data: bytes) -> bytes:
    """s16le bytes (two per μ-law byte) of G.711 μ-law `data`."""
    return bytes(ulaw_to_samples(data).astype("<i2").tobytes())


# --- levels, silence, durations ----------------------------------------------------------


def rms(samples: npt.NDArray[Any]) -> float:
    """Root-mean-square level of int16 `samples`, as a fraction of full scale (0.0 – 1.0)."""
    if samples.size == 0:
        return 0.0
    # One conversion and one dot product: measured per 20 ms frame on both sides of every
    # call, so the fewest numpy calls (float32 holds a frame's sum of squares to 1e-7).
    x = samples.astype(np.float32)
    return math.sqrt(float(np.dot(x, x)) / samples.size) / 32768.0


def slin_silence(ms: int = FRAME_MS, rate: int = SAMPLE_RATE) -> bytes:
    """`ms` of s16le digital silence at `rate`."""
    return bytes(rate * ms // 1000 * 2)


def ulaw_silence(ms: int = FRAME_MS) -> bytes:
    """`ms` of 8 kHz μ-law silence (code 0xFF, not 0x00 which is full negative scale)."""
    return bytes((ULAW_SILENCE_BYTE,)) * (SAMPLE_RATE * ms // 1000)


SLIN_SILENCE_FRAME: Final = slin_silence()
ULAW_SILENCE_FRAME: Final = ulaw_silence()


def slin_duration_ms(nbytes: int, rate: int = SAMPLE_RATE) -> float:
    """Duration of `nbytes` of s16le mono at `rate`."""
    return nbytes / 2 * 1000 / rate


def ulaw_duration_ms(nbytes: int) -> float:
    """Duration of `nbytes` of 8 kHz μ-law."""
    return nbytes * 1000 / SAMPLE_RATE


# --- resampling (24 kHz `audio/pcm` path) ------------------------------------------------


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample a whole s16le clip with soxr's HQ filter (band-limited, so downsampling does not
    alias). For a stream cut into chunks use `StreamResampler`, which keeps filter state."""
    if from_rate == to_rate:
        return pcm
    out = soxr.resample(_samples(pcm), from_rate, to_rate, quality="HQ")
    return bytes(np.asarray(out, dtype="<i2").tobytes())


class StreamResampler:
    """Chunk-by-chunk s16le resampler with filter state carried across chunks (no clicks at chunk
    edges); output lags input by the filter delay, and `flush()` returns the tail."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._stream = soxr.ResampleStream(from_rate, to_rate, 1, dtype="int16", quality="HQ")

    def process(self, pcm: bytes) -> bytes:
        """Resampled audio available so far for `pcm` (may be shorter than the exact ratio)."""
        out = self._stream.resample_chunk(_samples(pcm))
        return bytes(np.asarray(out, dtype="<i2").tobytes())

    def flush(self) -> bytes:
        """The audio still held in the filter; the resampler must not be used afterwards."""
        out = self._stream.resample_chunk(np.zeros(0, dtype=np.int16), last=True)
        return bytes(np.asarray(out, dtype="<i2").tobytes())


# --- in-band DTMF ------------------------------------------------------------------------

_DTMF_FREQS: Final[dict[str, tuple[int, int]]] = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
    "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633),
}  # fmt: skip


DTMF_PAUSE: Final = "w"  # in a key sequence: wait before the next key
DTMF_PAUSE_MS: Final = 500


def dtmf_tones(digits: str, tone_ms: int = 100, gap_ms: int = 80, rate: int = SAMPLE_RATE) -> bytes:
    """In-band DTMF (ITU-T Q.23 tone pairs) for `digits` as s16le, each tone followed by a gap;
    `w` is half a second of silence (a pause, as on a phone's dialler).

    AudioSocket cannot carry DTMF towards Asterisk (a 0x03 frame from the application ends the
    call), so key presses for IVR menus are played as audio. Raises `ValueError` naming a
    character that is neither a DTMF digit nor `w`, or a sequence with no key at all.
    """
    bad = [d for d in digits if d not in _DTMF_FREQS and d != DTMF_PAUSE]
    if bad or not digits.strip(DTMF_PAUSE):
        raise ValueError(f"{digits!r} is not a string of DTMF digits (0-9 * # A-D, w for a pause)")
    t = np.arange(rate * tone_ms // 1000) / rate
    gap = np.zeros(rate * gap_ms // 1000)
    pause = np.zeros(rate * DTMF_PAUSE_MS // 1000)
    parts: list[npt.NDArray[np.float64]] = []
    for digit in digits:
        if digit == DTMF_PAUSE:
            parts.append(pause)
            continue
        low, high = _DTMF_FREQS[digit]
        # -6 dBFS per tone keeps the pair below clipping (each tone at 0.35 full scale).
        parts.append(0.35 * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t)))
        parts.append(gap)
    samples = np.round(np.concatenate(parts) * 32767).astype("<i2")
    return bytes(samples.tobytes())
