"""Asterisk cuts the node's AMI session while every call of the campaign is in conversation.

The calls go on (Asterisk keeps the channels; their audio runs over AudioSocket, not AMI), the
node logs in again and checks the calls it follows against the PBX's channel list, follows them
to their end, and nothing is dialled twice. The lower-level case, a connection dropped from the
client's side with a call hung up while nobody listened, is in
tests/telephony/test_asterisk_calls.py (`test_cut_ami_connection_mid_call`).
"""

from __future__ import annotations

import asyncio

import pytest

from core.db.models import Call
from core.domain import CallOutcome
from tests.faults.faults import kick_ami_session
from tests.faults.rig import CAMPAIGN, FaultRig
from tests.kit import until

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

FAULT = "AMI session cut mid-call"


def judge(call: Call) -> str | None:
    """Every call was a whole conversation, recorded and analysed."""
    if call.outcome is not CallOutcome.ANSWERED or call.end_reason:
        return f"{call.outcome} ({call.end_reason}), expected an answered conversation"
    if call.recording_problem:
        return f"no recording: {call.recording_problem}"
    if not call.analysis:
        return "not analysed"
    return None


async def test_calls_go_on_when_asterisk_cuts_the_ami_session(rig: FaultRig) -> None:
    campaign = await rig.start_campaign("AMI cut")
    talking = await rig.all_talking(campaign)
    telephony = rig.node.telephony
    assert telephony is not None
    ami = telephony.ami
    before = ami.sessions
    transport = ami._protocol.transport if ami._protocol else None
    assert transport is not None
    client_port = transport.get_extra_info("sockname")[1]

    said = await asyncio.to_thread(kick_ami_session, ami.port, client_port)
    await until(lambda: not ami.connected, 5, f"the session to be cut ({said.strip()!r})")
    await until(
        lambda: ami.connected and ami.sessions == before + 1, 15, "the node to log in again"
    )
    # Reconciled against the PBX's channels: the calls are still up, and the node still follows
    # each of them with its slot (it will not start a fourth call in their place).
    channels = await rig.observer.send_list({"Action": "CoreShowChannels"})
    up = {c.get("Uniqueid") for c in channels}
    still = [
        call
        for call in talking
        if (await telephony.calls.ids_of(call.task_id, call.attempt)).channel_id in up
    ]
    assert len(still) == len(CAMPAIGN), "the calls were meant to outlast the cut"
    await until(lambda: telephony.calls.calls_up == len(CAMPAIGN), 5, "every call followed")

    settled = await rig.settle(campaign)
    figures = await rig.figures(
        campaign, fault=FAULT, allowed={c.name: 1 for c in CAMPAIGN}, judge=judge
    )
    figures.check()
    assert settled
    assert telephony.calls.calls_up == 0
