"""Audio the benchmark's peers can recognise frame by frame after it crossed the media path.

The agent's turns are WAV files whose every 20 ms frame starts with a marker: two magic samples,
the turn's variant and the frame's index. Every sample is an exact G.711 μ-law value, so the
trip s16le → μ-law (the local Realtime server) → s16le (the bridge) is lossless and the peer
reads the marker back from the frame Asterisk would play. The callee's speech is a steady tone,
its silence digital zero.
"""

from __future__ import annotations

import struct
import wave
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from media.audio import FRAME_SAMPLES, SAMPLE_RATE, SLIN_FRAME_BYTES, slin_to_ulaw, ulaw_to_slin
from media.audiosocket_codec import encode_audio

FRAME_S: Final = 0.020
# The agent's turns cycle through these lengths (long turns, one short enough to finish before
# the callee interrupts now and then). Consecutive turns differ in variant, which is how the
# peer tells one turn's audio from the next.
VARIANT_SECONDS: Final = (6.0, 10.0, 4.0, 12.0)

_EXACT: Final = sorted(
    set(np.frombuffer(ulaw_to_slin(bytes(range(256))), dtype="<i2").tolist()) - {0}
)
_MAGIC: Final = (_EXACT[-1], _EXACT[0])  # ±32124, never both at the start of a tone frame
_DIGITS: Final = _EXACT[1:-1]  # 252 values: variant, then the frame index in base 252
_BASE: Final = len(_DIGITS)
_DIGIT_OF: Final = {value: digit for digit, value in enumerate(_DIGITS)}
_MAGIC_BYTES: Final = np.array(_MAGIC, dtype="<i2").tobytes()
_IDS: Final = struct.Struct("<3h")

CALLEE_SPEECH: Final = encode_audio(
    # 400 Hz at 8 kHz: 8 whole cycles per frame, so one frame repeated is a clean tone (-15 dBFS)
    np.round(8000 * np.sin(2 * np.pi * 400 * np.arange(FRAME_SAMPLES) / SAMPLE_RATE))
    .astype("<i2")
    .tobytes()
)
CALLEE_SILENCE: Final = encode_audio(bytes(SLIN_FRAME_BYTES))


def agent_turn(variant: int, seconds: float) -> npt.NDArray[np.int16]:
    """`seconds` of marked agent audio (whole frames) for turn `variant`."""
    frames = round(seconds / FRAME_S)
    if frames > _BASE * _BASE or not 0 <= variant < _BASE:
        raise ValueError(f"turn too long ({seconds} s) or variant {variant} out of range")
    t = np.arange(frames * FRAME_SAMPLES) / SAMPLE_RATE
    tone = np.round(9000 * np.sin(2 * np.pi * (300 + 40 * variant) * t)).astype("<i2")
    exact = np.frombuffer(ulaw_to_slin(slin_to_ulaw(tone.tobytes())), dtype="<i2").copy()
    marks = exact.reshape(frames, FRAME_SAMPLES)
    index = np.arange(frames)
    marks[:, 0], marks[:, 1] = _MAGIC
    marks[:, 2] = _DIGITS[variant]
    marks[:, 3] = np.take(_DIGITS, index // _BASE)
    marks[:, 4] = np.take(_DIGITS, index % _BASE)
    return exact.astype(np.int16)


def write_wav(path: Path, samples: npt.NDArray[np.int16]) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(samples.astype("<i2").tobytes())


def write_turns(folder: Path) -> list[Path]:
    """One WAV per variant in `folder`; returns their paths in variant order."""
    paths = []
    for variant, seconds in enumerate(VARIANT_SECONDS):
        path = folder / f"agent-turn-{variant}.wav"
        write_wav(path, agent_turn(variant, seconds))
        paths.append(path)
    return paths


def read_marker(pcm: bytes) -> tuple[int, int] | None:
    """(variant, frame index) of a marked agent frame, or None for any other frame."""
    if pcm[:4] != _MAGIC_BYTES:
        return None
    variant, high, low = _IDS.unpack_from(pcm, 4)
    try:
        return _DIGIT_OF[variant], _DIGIT_OF[high] * _BASE + _DIGIT_OF[low]
    except KeyError:
        return None
