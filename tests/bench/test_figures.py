"""The benchmark's own arithmetic: frame markers, histogram percentiles, turn alignment."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bench.agent_audio import CALLEE_SILENCE, CALLEE_SPEECH, agent_turn, read_marker
from bench.figures import align_turns, barge_in, delta_to_peer, summarize, summarize_histogram
from media.audio import SLIN_FRAME_BYTES, slin_to_ulaw, ulaw_to_slin
from media.pacer import LATENESS_HIST_BINS, lateness_bin


@pytest.mark.parametrize("variant", [0, 1, 2, 3])
def test_markers_survive_the_ulaw_round_trip(variant: int) -> None:
    pcm = agent_turn(variant, 12.0).tobytes()
    assert ulaw_to_slin(slin_to_ulaw(pcm)) == pcm
    frames = [pcm[i : i + SLIN_FRAME_BYTES] for i in range(0, len(pcm), SLIN_FRAME_BYTES)]
    assert [read_marker(f) for f in frames] == [(variant, n) for n in range(600)]


def test_callee_audio_and_silence_carry_no_marker() -> None:
    assert read_marker(CALLEE_SPEECH[3:]) is None
    assert read_marker(CALLEE_SILENCE[3:]) is None


def test_histogram_percentiles_are_upper_bounds_within_five_percent() -> None:
    rng = np.random.default_rng(7)
    samples = rng.exponential(0.0005, 20_000)
    counts = [0] * LATENESS_HIST_BINS
    for s in samples:
        counts[lateness_bin(float(s))] += 1
    exact, binned = summarize(samples), summarize_histogram(counts)
    assert exact is not None and binned is not None
    for name in ("p50", "p95", "p99", "max"):
        true, upper = getattr(exact, name), getattr(binned, name)
        assert true <= upper * 1.0001
        assert upper <= true * 1.05 + 0.011  # one bin; bin 0 is [0, 10 µs)


def test_empty_figures_are_none() -> None:
    assert summarize([]) is None
    assert summarize_histogram([0] * LATENESS_HIST_BINS) is None


def heard(
    variant: int, first: float, last: float, starts: list[tuple[int, float]]
) -> dict[str, Any]:
    return {"variant": variant, "first": first, "last": last, "frames": 0, "starts": starts}


# Turn 0 at t=10 (heard), turn 1 at t=20 (cut before any of it reached the peer), turn 2 at
# t=30 (heard); the callee barged in on turns 0 and 1.
TRACE: dict[str, Any] = {
    "call_uuid": "c",
    "deltas": [(10.0, 0, 0), (10.1, 0, 5), (20.0, 1, 0), (30.0, 2, 0), (30.1, 2, 5)],
    "speech_started": [(10.5, 0), (20.01, 1), (29.0, None)],
}
HEARD = [
    heard(0, 10.02, 10.51, [(0, 10.02), (5, 10.12)]),
    heard(2, 30.01, 31.0, [(0, 30.01), (5, 30.11)]),
]
PEER: dict[str, Any] = {"call_uuid": "c", "turns": HEARD}


def test_turns_align_by_order_and_variant_skipping_unheard_ones() -> None:
    assert align_turns(TRACE, HEARD, variants=4) == {0: 0, 2: 1}


def test_delta_latency_and_cleared_audio() -> None:
    out = delta_to_peer([TRACE], [PEER], (0.0, 100.0), variants=4)
    assert out.latencies_s == pytest.approx([0.02, 0.02, 0.01, 0.01])
    assert out.first_of_turn_s == pytest.approx([0.02, 0.01])
    assert (out.cleared_by_barge_in, out.not_received) == (1, 0)


def test_barge_in_latency_is_the_last_frame_after_speech_started() -> None:
    out = barge_in([TRACE], [PEER], (0.0, 100.0), variants=4)
    assert out.latencies_s == pytest.approx([0.01])  # turn 0: last frame 10 ms after
    assert out.inaudible == 1  # turn 1 never reached the peer
    assert out.calls == {"c"}
