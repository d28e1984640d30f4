"""`opendeep rehearse`: one demo campaign end to end on the embedded defaults.

Everything is real except the two cloud services: the development PBX places the calls to its
simulated callees over a real SIP leg, the scheduler, the AudioSocket bridge, the HITL items,
the post-call analysis and the lifecycle manager all run as in production. The voice AI is the
local Realtime-protocol server with scripted turns, and the agents are the scripted rehearsal
models — which is said plainly, with the keys that make it real.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agents.schemas import CampaignPlan, Constraints, Target
from app.doctor import check_ami
from app.node import Node, PartsWanted
from core.db import Database
from core.domain import FeedbackKind, TaskStatus
from core.logging import get_logger
from core.ports import free_port
from core.rules import RetryPolicy
from core.settings import Settings

log = get_logger("opendeep.rehearsal")

Out = Callable[[str], None]


def demo_plan(owner: str) -> CampaignPlan:
    """The demo campaign: a receptionist who books, a busy line, a voicemail box (the
    development PBX's simulated callees; see `agents.call_agent.rehearsal`)."""
    return CampaignPlan(
        name="Rehearsal: book a dental cleaning",
        objective="Book a dental cleaning next week, mornings preferred.",
        targets=[
            Target(name="Bright Smile Dental", phone="+12125550101"),
            Target(name="Park Slope Dental", phone="+12125550102"),
            Target(name="Harbor Dental", phone="+12125550105"),
        ],
        constraints=Constraints(notes=["mornings preferred"]),
        questions=["Is there a morning slot next week?"],
        disclosure=["the owner's name"],
        success_criteria=["an appointment is booked"],
        voicemail_message=f"Hello, this is an AI assistant calling for {owner} about booking a cleaning. We will try again later. Thank you.",
        max_attempts=2,
    )


def rehearsal_retry() -> RetryPolicy:
    """Short delays, so a retry happens within the rehearsal."""
    delays = {
        "busy": dt.timedelta(seconds=8),
        "congestion": dt.timedelta(seconds=8),
        "no_answer": dt.timedelta(seconds=8),
        "voicemail": dt.timedelta(seconds=8),
        "technical_failure": dt.timedelta(seconds=8),
        "failed": dt.timedelta(seconds=8),
    }
    return RetryPolicy(delays=delays)


def node_settings(settings: Settings, realtime_url: str | None = None) -> Settings:
    """The settings of a rehearsal node: its own AudioSocket port, real numbers of simulated
    callees (no redirect), a window open all day (no real callee is called), and — when given
    — a Realtime server of the caller's own instead of the node's rehearsal voice."""
    update: dict[str, object] = {"realtime_url": realtime_url} if realtime_url else {}
    return settings.model_copy(
        update={
            **update,
            "app_test_mode": False,
            "audiosocket_port": free_port(settings.effective_media_workers),
            "calling_window_start": dt.time(0, 0),
            "calling_window_end": dt.time(23, 59, 59),
            "max_concurrent_calls": 2,
        }
    )


@dataclass
class RehearsalReport:
    campaign_id: int | None = None
    outcomes: list[str] = field(default_factory=list)
    summary: str | None = None
    questions_answered: int = 0


class NoOwner(LookupError):
    """The rehearsal has no user to run for; the message says what to do."""


async def rehearsal_owner(db: Database, username: str | None = None) -> tuple[int, str]:
    """(id, display name) of the user the demo campaign is for: `username`, else the first
    user (the bootstrapped `admin`), so they find it in their Campaigns tab."""
    async with db.users() as users:
        user_id = await users.id_for(username) if username else await users.first_id()
        profile = await users.profile(user_id) if user_id is not None else None
    if user_id is None or profile is None:
        raise NoOwner(f"there is no user {username!r}" if username else "there is no user yet")
    return user_id, profile.display_name


async def _answer_live_questions(
    db: Database, user_id: int, out: Out, report: RehearsalReport
) -> None:
    """Play the owner: answer each live-call question after a short pause."""
    while True:
        async with db.scope(user_id) as s:
            pending = await s.feedback.list_pending(FeedbackKind.LIVE_QUESTION)
        for item in pending:
            await asyncio.sleep(1.5)
            out(f"  ? the agent asks the owner mid-call: {item.question}")
            async with db.scope(user_id) as s:
                if await s.feedback.answer(item.id, {"text": "Yes, book Tuesday at nine."}):
                    report.questions_answered += 1
                    out(
                        "  ! the owner answers (Approvals tab in real use): Yes, book Tuesday at nine."
                    )
        await asyncio.sleep(0.3)


def _bar(done: int, total: int, width: int = 24) -> str:
    filled = int(width * done / total) if total else width
    return "[" + "#" * filled + "-" * (width - filled) + f"] {done}/{total} tasks ended"


async def _rehearse(
    node: Node,
    user_id: int,
    owner: str,
    outcome_lines: list[str],
    out: Out,
    report: RehearsalReport,
    timeout_s: float,
) -> bool | None:
    """Steps 2 to 5 on the running node; whether every task reached an end (None: the
    rehearsal could not go on, and `out` said why)."""
    db = node.db
    assert node.voice is not None
    out(f"step 2/5  voice AI: local Realtime server at {node.voice.url} (scripted turns)")
    out(f"          the demo campaign is {owner}'s: it stays in their Campaigns tab")
    runner = node.graphs.runner
    plan = demo_plan(owner)
    orch = await runner.start_orchestration(user_id, plan, plan_id=f"rehearsal-{int(time.time())}")
    out(f"step 3/5  plan '{plan.name}' checked: {orch.status}; it waits for the owner's approval")
    if orch.feedback_id is None:
        out(
            "cannot rehearse: the orchestrator did not ask for approval: "
            + "; ".join(orch.problems)
        )
        return None
    resumed = await runner.answer_feedback(user_id, orch.feedback_id, {"type": "accept"})
    async with db.scope(user_id) as s:
        campaigns = [c for c in await s.campaigns.list() if c.thread_id == orch.thread_id]
    if not campaigns:
        out(f"cannot rehearse: approving the plan created no campaign ({resumed})")
        return None
    campaign = campaigns[0]
    report.campaign_id = campaign.id
    out(f"          approved → campaign {campaign.id} with its tasks is active")
    out("step 4/5  calling (busy numbers are retried after a few seconds):")
    helper = asyncio.create_task(_answer_live_questions(db, user_id, out, report))
    try:
        if node.scheduler is not None:
            await node.scheduler.dispatch_now()
        deadline = time.monotonic() + timeout_s
        last = (-1, -1)
        while time.monotonic() < deadline:
            async with db.scope(user_id) as s:
                done, total = await s.campaigns.progress(campaign.id)
            while outcome_lines:
                out(outcome_lines.pop(0))
            if (done, total) != last:
                out("  " + _bar(done, total))
                last = (done, total)
            if total and done == total:
                break
            await asyncio.sleep(0.5)
        else:
            out("the rehearsal ran out of time before every task ended")
        await runner.lifecycle_pass(user_id)
    finally:
        helper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await helper
    async with db.scope(user_id) as s:
        campaign = await s.campaigns.require(campaign.id)
        tasks = await s.tasks.list_for_campaign(campaign.id)
    report.summary = campaign.summary
    out(f"step 5/5  lifecycle manager: campaign is {campaign.status.value}")
    for task in tasks:
        out(
            f"  - {task.target_name} ({task.phone_e164}): {task.status.value}, last outcome {task.last_outcome or '-'}, {task.attempts} attempt(s)"
        )
    if campaign.summary:
        out("  summary: " + campaign.summary.replace("\n", "\n           "))
    return all(
        t.status not in (TaskStatus.PENDING, TaskStatus.CLAIMED, TaskStatus.ANALYZING)
        for t in tasks
    )


async def run_rehearsal(
    settings: Settings,
    out: Out = print,
    *,
    timeout_s: float = 300.0,
    username: str | None = None,
) -> int:
    """Run the demo campaign for `username` (default: the first user); returns the exit code
    (0 when every task reached an end)."""
    out("OpenDeep rehearsal — a demo campaign against the development PBX.")
    out("This is a REHEARSAL: the voice AI is a local scripted server and the agents are")
    out("scripted rehearsal models. No real person is called.")
    ami = await check_ami(settings)
    if ami.level != "ok":
        out(f"cannot rehearse: {ami.detail}")
        out(f"fix: {ami.fix}")
        return 1
    out(f"step 1/5  PBX: {ami.detail}")
    report = RehearsalReport()
    local = node_settings(settings)
    db = Database(local.database_url)
    try:
        user_id, owner = await rehearsal_owner(db, username)
    except NoOwner as exc:
        await db.dispose()
        out(f"cannot rehearse: {exc}; create one with `opendeep user bootstrap`")
        return 1
    outcome_lines: list[str] = []
    node = Node(
        local,
        db,
        PartsWanted(ui=False),
        retry=rehearsal_retry(),
        ring_timeout_s=10,
        on_outcome=lambda o: outcome_lines.append(
            f"  - task {o.task_id}, attempt {o.attempt}: {o.outcome.replace('_', ' ')} → "
            f"{o.task_status.value}"
            + (
                f", next try {o.due_at:%H:%M:%S} UTC"
                if o.due_at and o.task_status is TaskStatus.PENDING
                else ""
            )
        ),
        safety_interval_s=1.0,
        lifecycle_interval_s=3600.0,
        rehearsal_voice=True,
    )
    try:
        async with node:
            ended = await _rehearse(node, user_id, owner, outcome_lines, out, report, timeout_s)
    finally:
        await db.dispose()
    if ended is None:
        return 1
    out("")
    out("That was a rehearsal. To make it real:")
    out("  OPENAI_API_KEY   the voice (OpenAI Realtime) and the agents (chat, planning, analysis)")
    out("  GOOGLE_API_KEY   business lookup (Places API) and internet search (Gemini) in chat")
    out("  and a PJSIP trunk to your carrier (PBX_TRUNK), with APP_TEST_MODE=false when ready.")
    return 0 if ended else 1
