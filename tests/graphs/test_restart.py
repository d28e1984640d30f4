"""Checkpoints survive a process restart: interrupt in one process, resume in another."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from core.db import Database
from core.db.models import CampaignStatus, FeedbackStatus
from core.settings import Settings
from graphs import GraphRunner
from tests.graphs.conftest import clock

ROOT = Path(__file__).resolve().parents[2]


def worker(*args: object) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.graphs.restart_worker", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
async def test_an_approval_survives_a_restart(
    db: Database,
    database_url: str,
    settings: Settings,
    two_users: tuple[int, int],
    tmp_path: Path,
    installation_id: uuid.UUID,
) -> None:
    alice, _ = two_users
    started = worker("start", database_url, tmp_path, alice)
    assert started["status"] == "awaiting_approval"
    assert started["thread_id"] == f"inst:{installation_id}:user:{alice}:plan:restart"

    # A new saver on the same file / database finds the thread waiting where it stopped.
    async with GraphRunner.open(db, settings, clock=clock) as runner:
        state = await runner.thread_state(alice, started["thread_id"])
        assert state.next == ("await_approval",)
        assert state.interrupts[0].value["feedback_id"] == started["feedback_id"]

    done = worker(
        "answer", database_url, tmp_path, alice, started["feedback_id"]
    )  # yet another process
    assert done["status"] == "approved"
    async with db.scope(alice) as s:
        campaign = await s.campaigns.require(done["campaign_id"])
        assert campaign.status is CampaignStatus.ACTIVE
        assert len(await s.tasks.list_for_campaign(campaign.id)) == 3
        assert (await s.feedback.require(started["feedback_id"])).status is FeedbackStatus.ANSWERED
    if not settings.is_postgres:
        assert (tmp_path / "opendeep.db.checkpoints.db").is_file()
