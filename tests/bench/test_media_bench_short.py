"""The media benchmark's CI mode runs end to end and produces every figure.

Goals are not asserted here (they depend on the machine); only that the run completes, exits 0
and measured each of the five figures of the load level on two media worker processes (each
carrying calls, with its loop lag and CPU reported), and that the answer scenario measured
answer → first agent audio on prewarmed sessions and on sessions opened at answer, counted the
false barge-ins of echoing lines, and left no prewarmed session open.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIGURES = (
    "append_overhead_ms",
    "delta_to_peer_ms",
    "pacer_lateness_ms",
    "peer_jitter_ms",
    "barge_in_ms",
)


@pytest.mark.slow
def test_short_mode_completes_with_all_figures(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.media_bench",
            "--short",
            "--workers=2",
            f"--results-dir={tmp_path}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=420,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads((tmp_path / "media-20.json").read_text())
    figures = result["figures"]
    for name in FIGURES:
        figure = figures[name]
        assert figure["n"] > 0, f"{name} has no samples"
        assert figure["p50"] <= figure["p95"] <= figure["p99"] <= figure["max"], name
        assert isinstance(figure["met"], bool)
    memory = figures["memory_per_call_mb"]
    assert isinstance(memory["rss_per_call_mb"], float)
    assert isinstance(memory["met"], bool)
    assert result["calls_live"] == result["calls"]
    assert result["cpu"]["measured_process_cores"] > 0
    assert result["cpu"]["calls_per_core"] > 0
    # The multi-process path: two workers, both carrying calls, each with its own loop's lag.
    assert result["media"]["workers"] == 2
    workers = result["workers"]
    assert [w["worker"] for w in workers] == [0, 1]
    assert all(w["calls"] > 0 and w["cores"] > 0 for w in workers), workers
    assert sum(w["calls"] for w in workers) == result["calls_live"]
    for index in (0, 1):
        assert result["loop_lag_ms"][f"media worker {index}"]["n"] > 0
    assert "barge-in" in done.stdout  # the table was printed
    assert "answer → first agent audio" in done.stdout

    answer = json.loads((tmp_path / "media-answer.json").read_text())
    for half in ("prewarmed", "connect_at_answer"):
        figures = answer["figures"][half]
        for name in ("first_audio_ms", "model_first_audio_ms", "opendeep_share_ms"):
            assert figures[name]["n"] > 0, f"{half} {name} has no samples"
            assert figures[name]["p50"] <= figures[name]["p99"] <= figures[name]["max"]
    prewarmed = answer["figures"]["prewarmed"]
    assert prewarmed["talked_on_the_prewarmed_session"] == prewarmed["calls"] > 0
    assert answer["figures"]["connect_at_answer"]["talked_on_the_prewarmed_session"] == 0
    echo = answer["figures"]["false_barge_ins"]
    assert echo["calls"] > 0 and echo["agent_speech_min"] > 0
    assert isinstance(echo["per_agent_speech_min"], float)
    counts = answer["prewarm"]
    assert counts["used"] > 0 and counts["closed_unused"] + counts["abandoned"] > 0  # unanswered
    assert counts["open_now"] == counts["opening_now"] == 0
    assert answer["open_sessions_at_server_end"] == 0  # nothing left open at the Realtime server
