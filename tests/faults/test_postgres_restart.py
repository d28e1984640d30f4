"""The PostgreSQL server restarts under a running node while every call of the campaign is in
conversation: every connection the node holds is closed at once, and none can be opened until
the server is back — which is made to take as long as the conversations need to go on by a few
turns, so the node has turns, call progress and leases to write while it is down.

The calls go on (their audio does not touch the database), what the node wanted to write
meanwhile is written once the server is back, and the campaign ends as it would have: no task
lost, none dialled twice, every call analysed from its whole transcript.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from core.db.models import Call
from core.domain import CallOutcome, TurnRole
from tests.faults.faults import PgServer
from tests.faults.figures import Judge
from tests.faults.rig import CAMPAIGN, FaultRig
from tests.kit import until

pytestmark = [pytest.mark.asterisk, pytest.mark.postgres, pytest.mark.slow]

FAULT = "PostgreSQL restarted mid-call"
TURNS_WHILE_DOWN = 3  # transcript turns the calls hand over while the server is down


def whole(said: dict[str, Counter[TurnRole]], names: dict[int, str]) -> Judge:
    def judge(call: Call) -> str | None:
        """A whole conversation, stored, recorded and analysed: every turn the voice gave the
        call is in its transcript, the outcome is an answered call, the analysis is there."""
        if call.outcome is not CallOutcome.ANSWERED or call.end_reason:
            return f"{call.outcome} ({call.end_reason}), expected an answered conversation"
        stored = Counter(TurnRole(t["role"]) for t in call.transcript)
        expected = said.get(names[call.task_id], Counter())
        for role in (TurnRole.AGENT, TurnRole.CALLEE):
            if stored[role] != expected[role]:
                return f"{stored[role]} {role.value} turns stored of {expected[role]} said"
        if call.recording_problem:
            return f"no recording: {call.recording_problem}"
        if not call.analysis:
            return "not analysed"
        return None

    return judge


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_the_node_rides_out_a_postgres_restart(rig: FaultRig) -> None:
    campaign = await rig.start_campaign("PostgreSQL restart")
    await rig.all_talking(campaign)
    names = {t.id: name for name, t in (await rig.tasks(campaign)).items()}

    def turns() -> int:
        return sum(sum(c.values()) for c in rig.turns_said().values())

    server = PgServer(rig.db.url)
    await asyncio.to_thread(server.stop)
    try:
        before = turns()
        await until(
            lambda: turns() >= before + TURNS_WHILE_DOWN,
            20,
            "the conversations to go on while PostgreSQL is down",
        )
    finally:
        await asyncio.to_thread(server.start)

    settled = await rig.settle(campaign)
    figures = await rig.figures(
        campaign,
        fault=FAULT,
        allowed={c.name: 1 for c in CAMPAIGN},
        judge=whole(rig.turns_said(), names),
    )
    figures.check()
    assert settled
