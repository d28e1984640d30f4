"""Energy VAD of the local Realtime server: GA knobs keep their meaning."""

from __future__ import annotations

import numpy as np
import pytest

from media.realtime_server.vad import EnergyVad, VadConfig, VadStart, VadStop, threshold_rms


def tone(ms: int, rate: int = 8000, amp: float = 0.3) -> np.ndarray:
    t = np.arange(rate * ms // 1000) / rate
    return np.round(amp * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


def silence(ms: int, rate: int = 8000) -> np.ndarray:
    return np.zeros(rate * ms // 1000, dtype=np.int16)


def test_threshold_maps_to_a_level() -> None:
    assert threshold_rms(0.5) == pytest.approx(10 ** (-35 / 20))
    assert threshold_rms(0.0) < threshold_rms(0.5) < threshold_rms(1.0)
    assert threshold_rms(7) == threshold_rms(1.0)


def test_start_includes_prefix_padding_and_stop_includes_the_silence() -> None:
    vad = EnergyVad(VadConfig(prefix_padding_ms=300, silence_duration_ms=500), 8000)
    events = vad.feed(np.concatenate([silence(1000), tone(800), silence(600)]))
    assert [type(e) for e in events] == [VadStart, VadStop]
    start, stop = events
    assert isinstance(start, VadStart) and isinstance(stop, VadStop)
    assert start.audio_start_ms == 700
    assert stop.audio_end_ms == 1000 + 800 + 500
    assert len(stop.audio) == 8 * (300 + 800 + 500)  # prefix + speech + trailing silence


def test_any_chunking_gives_the_same_events() -> None:
    audio = np.concatenate([silence(200), tone(400), silence(700), tone(100), silence(600)])
    whole = EnergyVad(VadConfig(), 8000).feed(audio)
    vad = EnergyVad(VadConfig(), 8000)
    chunked = [e for i in range(0, len(audio), 37) for e in vad.feed(audio[i : i + 37])]
    assert [
        (type(e), getattr(e, "audio_start_ms", getattr(e, "audio_end_ms", 0))) for e in chunked
    ] == [(type(e), getattr(e, "audio_start_ms", getattr(e, "audio_end_ms", 0))) for e in whole]
    assert len(whole) == 4


def test_short_pauses_do_not_end_the_turn_and_quiet_audio_is_no_speech() -> None:
    vad = EnergyVad(VadConfig(silence_duration_ms=500), 8000)
    assert len(vad.feed(np.concatenate([tone(300), silence(300), tone(300)]))) == 1
    assert vad.speaking
    assert EnergyVad(VadConfig(), 8000).feed(tone(1000, amp=0.005)) == []  # -49 dBFS


def test_higher_threshold_needs_louder_speech_and_rates_other_than_8k() -> None:
    quiet = tone(500, 24000, amp=0.03)  # about -33 dBFS RMS
    assert EnergyVad(VadConfig(threshold=0.5), 24000).feed(quiet)
    assert not EnergyVad(VadConfig(threshold=0.8), 24000).feed(quiet)


def test_from_turn_detection_keeps_defaults_for_missing_fields() -> None:
    assert VadConfig.from_turn_detection(
        {"type": "server_vad", "silence_duration_ms": 200}
    ) == VadConfig(silence_duration_ms=200)
    assert VadConfig.from_turn_detection({"threshold": None}) == VadConfig()


def test_semantic_vad_is_simulated_with_a_silence_set_by_its_eagerness() -> None:
    def silence(eagerness: str) -> int:
        td = {"type": "semantic_vad", "eagerness": eagerness}
        return VadConfig.from_turn_detection(td).silence_duration_ms

    assert silence("high") < silence("medium") == silence("auto") < silence("low")
