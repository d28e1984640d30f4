"""Agent audio for the local Realtime server: a clearly audible tone pattern per word of the
transcript (no TTS here), or a WAV file, encoded in the session's output format."""

from __future__ import annotations

import wave
import zlib
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from media.audio import PCM24_RATE, SAMPLE_RATE, resample, slin_to_ulaw
from media.realtime_events import AudioFormat

_AMPLITUDE: Final = 0.3  # of full scale: loud enough for any VAD, far from clipping
_WORD_GAP_MS: Final = 60
_PAUSE_MS: Final = 220  # after , . ? !
_FADE_MS: Final = 8


def format_rate(fmt: AudioFormat) -> int:
    """Sample rate of a Realtime audio format (μ-law and A-law are 8 kHz; `audio/pcm` 24 kHz)."""
    return PCM24_RATE if fmt == "audio/pcm" else SAMPLE_RATE


def bytes_per_ms(fmt: AudioFormat) -> int:
    return 48 if fmt == "audio/pcm" else 8


def tone_speech(text: str, rate: int = SAMPLE_RATE) -> npt.NDArray[np.int16]:
    """A tone burst per word — length from the word's length, pitch from its letters — with
    gaps and pauses at punctuation: about the rhythm of speech, clearly audible."""
    parts: list[npt.NDArray[np.float64]] = []
    fade = max(1, rate * _FADE_MS // 1000)
    for word in text.split():
        ms = min(450, max(120, 65 * len(word)))
        freq = 220 + (zlib.crc32(word.lower().encode()) % 12) * 40
        t = np.arange(rate * ms // 1000) / rate
        tone = _AMPLITUDE * np.sin(2 * np.pi * freq * t)
        ramp = np.linspace(0.0, 1.0, fade)
        tone[:fade] *= ramp
        tone[-fade:] *= ramp[::-1]
        parts.append(tone)
        pause = _PAUSE_MS if word[-1] in ",.?!;:" else _WORD_GAP_MS
        parts.append(np.zeros(rate * pause // 1000))
    if not parts:
        return np.zeros(rate // 10, dtype=np.int16)
    return np.round(np.concatenate(parts) * 32767).astype(np.int16)


def read_wav(path: Path, rate: int) -> npt.NDArray[np.int16]:
    """A 16-bit PCM WAV as mono int16 at `rate` (channels averaged, resampled with soxr).

    Raises `ValueError` naming the file if it is not 16-bit PCM WAV.
    """
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise ValueError(f"{path}: only 16-bit PCM WAV is supported")
            channels, src_rate = wav.getnchannels(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path}: not a PCM WAV file ({exc})") from None
    samples = np.frombuffer(raw, dtype="<i2").reshape(-1, channels).mean(axis=1)
    mono = np.round(samples).astype(np.int16)
    return np.frombuffer(resample(mono.tobytes(), src_rate, rate), dtype="<i2").astype(np.int16)


def encode_for(samples: npt.NDArray[np.int16], fmt: AudioFormat) -> bytes:
    """`samples` (at `format_rate(fmt)`) as the bytes of a Realtime audio format."""
    pcm = samples.astype("<i2").tobytes()
    if fmt == "audio/pcmu":
        return slin_to_ulaw(pcm)
    if fmt == "audio/pcm":
        return pcm
    raise ValueError(f"the local Realtime server does not produce {fmt}")


def render_speech(text: str, fmt: AudioFormat, audio_file: Path | None = None) -> bytes:
    """The audio of one `say` output in `fmt`."""
    rate = format_rate(fmt)
    samples = read_wav(audio_file, rate) if audio_file is not None else tone_speech(text, rate)
    return encode_for(samples, fmt)
