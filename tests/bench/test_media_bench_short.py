"""The media benchmark's CI mode runs end to end and produces every figure.

Goals are not asserted here (they depend on the machine); only that the run completes, exits 0
and measured each of the five figures.
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
def test_short_mode_completes_with_all_five_figures(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.media_bench", "--short", f"--results-dir={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    (result_file,) = tmp_path.glob("media-*.json")
    result = json.loads(result_file.read_text())
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
    assert "barge-in" in done.stdout  # the table was printed
