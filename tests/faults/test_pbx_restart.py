"""Asterisk restarts (`core restart now`) while every call of the campaign is in conversation.

The calls in progress end as technical failures — Asterisk cut them, not the callees — with the
reason on each call; the campaign is not paused for it (one event, not repeated failures), and
each cut call is tried again under a new attempt once Asterisk is back: one more dial per task,
no attempt dialled twice. The client side of the restart (reconnecting, calling again) is in
tests/telephony/test_asterisk_calls.py (`test_asterisk_restart`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from core.db.models import Call
from core.domain import CallOutcome, CampaignStatus
from telephony.call_tracker import PBX_STOPPED
from tests.faults.faults import restart_asterisk
from tests.faults.rig import CAMPAIGN, FaultRig
from tests.kit import until

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

FAULT = "Asterisk restarted mid-call"


def judge(cut: set[int]) -> Callable[[Call], str | None]:
    def wrong(call: Call) -> str | None:
        if call.recording_problem:  # the cut calls too: they were recorded up to the cut
            return f"no recording: {call.recording_problem}"
        if call.id in cut:
            if call.outcome is not CallOutcome.TECHNICAL_FAILURE or call.end_reason != PBX_STOPPED:
                return f"cut by the restart, but reads {call.outcome} ({call.end_reason})"
            return None
        if call.outcome is not CallOutcome.ANSWERED or call.end_reason or not call.analysis:
            return f"{call.outcome} ({call.end_reason}), expected an analysed conversation"
        return None

    return wrong


async def test_calls_cut_by_a_restart_are_failures_and_retried_once(rig: FaultRig) -> None:
    campaign = await rig.start_campaign("Asterisk restart")
    talking = await rig.all_talking(campaign)
    assert rig.node.telephony is not None
    ami = rig.node.telephony.ami
    before = ami.sessions

    await asyncio.to_thread(restart_asterisk)
    await until(lambda: ami.connected and ami.sessions > before, 60, "the node to log in again")

    settled = await rig.settle(campaign)
    figures = await rig.figures(
        campaign,
        fault=FAULT,
        allowed={c.name: 2 for c in CAMPAIGN},  # the cut call and its retry
        judge=judge({c.id for c in talking}),
    )
    figures.check()
    assert settled
    async with rig.db.scope(rig.user_id) as s:
        assert (await s.campaigns.require(campaign)).status is CampaignStatus.ACTIVE
