"""The development-PBX answer benchmark, short: calls to the simulated receptionist measure
answer → first agent audio with and without a prewarmed session, and the busy line's and the
unanswered line's prewarmed sessions are closed. The figures themselves are not judged here (they
depend on the machine); the full run's are in bench/RESULTS.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kit.devpbx import DevPbx

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 240  # a warm-up, two answered and three unanswered calls: about a minute

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


def test_answered_calls_are_measured_and_unanswered_ones_leave_no_session(
    devpbx: DevPbx, tmp_path: Path
) -> None:
    out = tmp_path / "pbx-answer.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.pbx_answer", "--calls", "2", f"--out={out}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(out.read_text())
    for half in ("prewarmed", "connect_at_answer"):
        figures = result["figures"][half]
        assert figures["calls"] == 1
        assert figures["amd_human"] == 1  # the receptionist's "Hello?" was heard as a person
        for name in ("answer_to_first_audio_ms", "amd_to_first_audio_ms", "opendeep_share_ms"):
            assert figures[name]["n"] == 1, f"{half}: {name} not measured"
    assert result["figures"]["prewarmed"]["talked_on_the_prewarmed_session"] == 1
    assert result["figures"]["connect_at_answer"]["talked_on_the_prewarmed_session"] == 0
    assert [c["outcome"] for c in result["unanswered"]] == ["busy", "no_answer", "busy"]
    counts = result["prewarm"]
    assert counts["started"] == 4 and counts["used"] == 1
    assert counts["closed_unused"] + counts["abandoned"] == 3
    assert counts["open_now"] == counts["opening_now"] == 0
    assert result["open_sessions_at_server_end"] == 0
    assert "OpenDeep's share" in done.stdout
