"""The many-nodes benchmark's CI mode: two nodes on one PostgreSQL, one of them SIGKILLed
mid-run, at an Originate it was about to send (its call row written, Asterisk never told). Every task must be dialled exactly once (by the AMI events and by the calls rows),
none lost, every one ended. The figures themselves are not judged here (they depend on the
machine); the full run's are in bench/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_postgres
from tests.kit.devpbx import DevPbx

ROOT = Path(__file__).resolve().parents[2]
# The run itself must end well under three minutes; this bounds a hung one.
RUN_TIMEOUT_S = 240

pytestmark = [pytest.mark.asterisk, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def postgres_url() -> str:
    return require_postgres()


def test_two_nodes_one_killed_dial_every_task_exactly_once(
    devpbx: DevPbx, postgres_url: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.multinode_bench", "--short", f"--results-dir={tmp_path}"],
        cwd=ROOT,
        env={**os.environ, "OPENDEEP_TEST_POSTGRES_URL": postgres_url},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert done.returncode in (0, 1), f"the run could not be made:\n{done.stderr[-4000:]}"
    result = json.loads((tmp_path / "multinode-short.json").read_text())
    verdict, recovery = result["verdict"], result["recovery"]
    report = f"\n{done.stdout}\n{done.stderr[-2000:]}"

    assert verdict["tasks"] == 150
    assert verdict["dialled_twice_or_more"] == [], "dialled twice (AMI)" + report
    assert verdict["stray_outbound_channels"] == [], "dials of no task" + report
    assert verdict["never_dialled"] == [], "lost: never dialled" + report
    assert verdict["calls_rows_not_one"] == [], "not one calls row per task" + report
    assert verdict["not_ended"] == [], "tasks still pending or claimed" + report
    assert verdict["dialled_once_ami"] == 150
    assert result["ami"]["listener_disconnects"] == 0, "the AMI count may have missed events"

    assert recovery is not None, "no node was killed"
    assert recovery["tasks_held"] > 0, "the killed node held no task"
    # Killed between its call row and its Originate: that task too is dialled once, after.
    tripped = recovery["killed_at_originate_of"]
    assert tripped is not None, "the node was not killed at an Originate" + report
    (at_originate,) = [h for h in recovery["held"] if h["task"] == tripped]
    assert at_originate["dialled_by"] == ["bench-node-b"], at_originate
    assert at_originate["calls_rows"] == 1, at_originate
    assert all(h["dials"] == 1 for h in recovery["held"]), recovery["held"]
    assert recovery["all_returned_after_s"] is not None, "a held task never left 'claimed'"
    assert done.returncode == 0, report
