"""Asterisk cannot write its recordings — the folder is full (a tiny filesystem mounted over it
and filled), or a file stands where the folder should be — while the campaign records.

Asterisk goes on with each call and says nothing but a line in its own log; the calls happen as
they would have, and each call's row says why there is no recording, which the campaign page
shows where the recording's player would be.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest

from core.db.models import Call
from core.services import campaign_detail, recording_file
from tests.faults.faults import file_in_place_of, full_filesystem_over
from tests.faults.rig import CAMPAIGN, FaultRig
from ui.render import call_block

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

Spoil = Callable[[Path], contextlib.AbstractContextManager[None]]


def judge(folder: Path, says: str) -> Callable[[Call], str | None]:
    def wrong(call: Call) -> str | None:
        if call.outcome is None or call.outcome.value != "answered" or not call.analysis:
            return f"{call.outcome}: expected an answered, analysed call"
        if recording_file(call, folder) is not None:
            return "has a recording the PBX could not have written"
        if not call.recording_problem or says not in call.recording_problem:
            return f"no recording, and the reason reads {call.recording_problem!r}"
        return None

    return wrong


@pytest.mark.parametrize(
    ("how", "spoil", "says"),
    [
        pytest.param("full", full_filesystem_over, "is full", id="full"),
        pytest.param("a file", file_in_place_of, "is a file, not a folder", id="a-file"),
    ],
)
async def test_calls_go_on_and_say_why_they_have_no_recording(
    rig: FaultRig, how: str, spoil: Spoil, says: str
) -> None:
    folder = rig.node.settings.recordings_dir
    with spoil(folder):
        campaign = await rig.start_campaign(f"Recordings folder {how}")
        settled = await rig.settle(campaign)
        figures = await rig.figures(
            campaign,
            fault=f"recordings folder {how}",
            allowed={c.name: 1 for c in CAMPAIGN},
            judge=judge(folder, says),
        )
        detail = await campaign_detail(rig.db, rig.user_id, campaign, folder)
    figures.check()
    assert settled
    # The owner reads the reason where the recording's player would be.
    views = [call for task in detail.tasks for call in task.calls]
    assert len(views) == len(CAMPAIGN)
    for view in views:
        html = call_block(view, lambda call_id: f"/recordings/{call_id}")
        assert "<audio" not in html
        assert '<p class="od-recording-missing"><strong>No recording:</strong> ' in html
        assert says in html
