"""The harness of the fault tests: a running node, a small campaign to the development PBX's
simulated callees, the test's own AMI session watching the PBX, and the figures read back.

The node is the one `opendeep serve` runs (`app.node.Node`: scheduler, telephony, media, graphs)
with the rehearsal agents and the local Realtime-protocol server as its voice; the campaign is
approved through the orchestrator as an owner would. Calls go out three at a time, so each fault
meets every call of the campaign in progress.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping

from agents.call_agent.rehearsal import brief_of
from agents.schemas import CampaignPlan, StopRule, Target
from app.node import Node
from core.db import Database
from core.db.models import Call, Task
from core.domain import CallState, TaskStatus, TurnRole
from core.rules import RetryPolicy
from media.realtime_server import RealtimeTestServer
from telephony.ami_connection import AmiConnection
from tests.faults.figures import Callee, FigureLog, Figures, Judge, judge_calls, lost_tasks
from tests.integration.scheduling import dispatching
from tests.kit import until
from tests.telephony.asterisk_rig import EventLog

# The three people of the development PBX (asterisk/README.md), each with the end their task
# comes to: Anna books, the second asks never to be called again, the third to be called back.
CAMPAIGN = (
    Callee("Smile Dental", "+12125550101", TaskStatus.COMPLETED, "achieved"),
    Callee("Quiet Street Dental", "+12125550108", TaskStatus.COMPLETED, "opt_out"),
    Callee("Busy Bee Dental", "+12125550109", TaskStatus.PENDING, "callback_requested"),
)
MAX_ATTEMPTS = 3
# A call a fault ends is tried again soon (3 minutes in production).
QUICK = RetryPolicy(
    delays={
        outcome: dt.timedelta(seconds=2)
        for outcome in ("busy", "no_answer", "congestion", "technical_failure", "failed")
    }
)
SETTLE_S = 90.0
# The voice server's events that become transcript turns.
TURN_EVENTS = {
    "response.output_audio_transcript.done": TurnRole.AGENT,
    "conversation.item.input_audio_transcription.completed": TurnRole.CALLEE,
    "conversation.item.input_audio_transcription.failed": TurnRole.CALLEE,
}


def plan(name: str) -> CampaignPlan:
    return CampaignPlan(
        name=name,
        objective="Book a dental cleaning next week.",
        targets=[Target(name=c.name, phone=c.phone) for c in CAMPAIGN],
        stop_rule=StopRule.CALL_EVERYONE,
        max_attempts=MAX_ATTEMPTS,
    )


class FaultRig:
    def __init__(
        self,
        node: Node,
        db: Database,
        user_id: int,
        observer: AmiConnection,
        events: EventLog,
        figure_log: FigureLog,
        voice: RealtimeTestServer,
    ) -> None:
        self.node = node
        self.voice = voice  # the calls' Realtime-protocol server
        self.db = db
        self.user_id = user_id
        self.observer = observer  # the test's own AMI session
        self.events = events  # every event it saw
        self.figure_log = figure_log
        self.database = "postgres" if db.url.startswith("postgresql") else "sqlite"
        self._started = time.monotonic()

    # --- the campaign --------------------------------------------------------------------
    async def start_campaign(self, name: str) -> int:
        """Approve the campaign as its owner would; the node starts calling at once."""
        self._started = time.monotonic()
        runner = self.node.graphs.runner
        p = plan(name)
        orch = await runner.start_orchestration(self.user_id, p, plan_id=name)
        assert orch.feedback_id is not None, orch
        await runner.answer_feedback(self.user_id, orch.feedback_id, {"type": "accept"})
        async with self.db.scope(self.user_id) as s:
            (campaign,) = [c for c in await s.campaigns.list() if c.thread_id == orch.thread_id]
        await self.nudge()
        return campaign.id

    async def nudge(self) -> None:
        assert self.node.scheduler is not None
        await self.node.scheduler.dispatch_now()

    async def tasks(self, campaign_id: int) -> dict[str, Task]:
        async with self.db.scope(self.user_id) as s:
            return {t.target_name: t for t in await s.tasks.list_for_campaign(campaign_id)}

    async def calls(self, campaign_id: int) -> dict[str, list[Call]]:
        async with self.db.scope(self.user_id) as s:
            tasks = await s.tasks.list_for_campaign(campaign_id)
            return {t.target_name: list(await s.calls.list_for_task(t.id)) for t in tasks}

    def turns_said(self) -> dict[str, Counter[TurnRole]]:
        """The transcript turns the voice server gave the calls of each callee, by role: what
        the bridges handed to the transcript writer (an agent line, a callee's transcription or
        its failure)."""
        said: dict[str, Counter[TurnRole]] = {}
        for conversation in self.voice.conversations:
            _, target, _ = brief_of(str(conversation.session.get("instructions", "")))
            counts = said.setdefault(target, Counter())
            for event in list(conversation.sent):
                role = TURN_EVENTS.get(str(event.get("type")))
                if role is not None:
                    counts[role] += 1
        return said

    async def wait(
        self, check: Callable[[], Awaitable[object]], timeout_s: float, what: str
    ) -> None:
        await until(dispatching(self.node, check), timeout_s, what, step=0.2)

    async def all_talking(self, campaign_id: int, timeout_s: float = 30.0) -> list[Call]:
        """Wait until every callee's call is answered and its conversation has begun (a
        transcript turn is stored); returns those calls."""

        async def talking() -> list[Call] | None:
            calls = await self.calls(campaign_id)
            live = [
                rows[-1]
                for rows in calls.values()
                if rows and rows[-1].state is CallState.ANSWERED and rows[-1].transcript
            ]
            return live if len(live) == len(CAMPAIGN) else None

        await self.wait(talking, timeout_s, "every call to be answered and talking")
        return await talking() or []

    async def settle(self, campaign_id: int, timeout_s: float = SETTLE_S) -> bool:
        """Wait (nudging the scheduler) until every task has come to its end and no call is
        up; False when that did not happen in time — the figures then say what is missing."""
        deadline = time.monotonic() + timeout_s

        async def settled() -> bool:
            tasks = await self.tasks(campaign_id)
            calls = await self.calls(campaign_id)
            return all(c.name in tasks and c.reached(tasks[c.name]) for c in CAMPAIGN) and all(
                call.state is CallState.ENDED for rows in calls.values() for call in rows
            )

        look = dispatching(self.node, settled)
        while time.monotonic() < deadline:
            if await look():
                return True
            await asyncio.sleep(0.5)
        return False

    # --- the figures ---------------------------------------------------------------------
    async def figures(
        self, campaign_id: int, *, fault: str, allowed: Mapping[str, int], judge: Judge
    ) -> Figures:
        """Read the campaign back, count, record the figures and return them."""
        tasks = await self.tasks(campaign_id)
        calls = await self.calls(campaign_id)
        assert self.node.telephony is not None
        pbx_dials: dict[str, int] = {}
        repeats = 0
        for c in CAMPAIGN:
            task = tasks.get(c.name)
            seen = 0
            for attempt in range(1, (task.max_attempts if task else 0) + 1):
                ids = await self.node.telephony.calls.ids_of(task.id, attempt)  # type: ignore[union-attr]
                channels = len(self.events.where("Newchannel", Uniqueid=ids.channel_id))
                seen += channels
                repeats += channels > 1
            pbx_dials[c.name] = seen
        figures = Figures(
            fault=fault,
            database=self.database,
            dials={c.name: len(calls.get(c.name, [])) for c in CAMPAIGN},
            allowed={c.name: allowed[c.name] for c in CAMPAIGN},
            pbx_dials=pbx_dials,
            lost=lost_tasks(list(CAMPAIGN), tasks),
            mis_marked=judge_calls(calls, judge),
            repeats=repeats,
            seconds=time.monotonic() - self._started,
        )
        self.figure_log.record(figures)
        return figures
