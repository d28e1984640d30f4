"""Lifecycle manager graph (meta-OODA): one pass over one user's campaigns and open tasks.

start → take_answers → observe → orient ─┬→ END (nothing needs a decision)
                                         └→ decide (model) → act ─┬→ END
                                                                  └→ observe (once more after
                                                                     cancelling siblings)

Take_answers acts on the owner's answers no graph waits on: check-ins (keep going, pause, stop,
new instructions) and reviews asked when the analyzer itself could not run — each once, in one
transaction with marking it applied. Observe reads the user's data; orient (pure rules) lists
findings with allowed actions and safe defaults; the model proposes choices and summaries; the
guards dispose; act applies what passed, re-reading each task first so nothing that changed
meanwhile (a claim, a call) is touched.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from agents.calling_window import plan_window
from agents.lifecycle_manager import (
    Action,
    CampaignView,
    Finding,
    LifecycleDecision,
    Observation,
    TaskView,
    default_summary,
    dispose,
    in_call,
    orient,
    read_check_in,
)
from agents.post_call_analyzer import Callee, Unread, read_answer
from agents.prompts import load_prompt
from agents.structured import ainvoke_structured
from core.db import UserScope
from core.db.models import Campaign, FeedbackRequest, Task
from core.domain import (
    CallState,
    CampaignStatus,
    FeedbackKind,
    FeedbackPayload,
    NextAction,
    StoredAnalysis,
    StoredPlan,
    TaskStatus,
)
from core.logging import get_logger
from core.services.campaigns import CampaignAction, steer
from core.services.tasks import ask_owner_about_call, describe_task, move_task
from graphs.context import GraphContext, context_of
from graphs.hitl import READ_BY_PASS, ensure_feedback

AGENT = "lifecycle_manager"
MAX_ROUNDS = 2
log = get_logger("opendeep.graphs.lifecycle_manager")


class LifecycleInput(TypedDict, total=False):
    note: str


class LifecycleReport(TypedDict, total=False):
    answers: list[dict[str, Any]]  # {feedback_id, applied}: the owner's answers acted on
    findings: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    rejected: list[str]
    completed_campaigns: list[int]
    check_ins: list[int]


class LifecycleState(LifecycleReport, LifecycleInput, total=False):
    observation: dict[str, Any]
    decision: dict[str, Any] | None
    round: int


async def start(state: LifecycleState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    await context_of(runtime)
    return {
        "round": 0,
        "answers": [],
        "actions": [],
        "rejected": [],
        "completed_campaigns": [],
        "check_ins": [],
    }


async def take_answers(state: LifecycleState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Act on each answered check-in, and each answered review no analyzer thread waits on."""
    ctx = await context_of(runtime)
    db = ctx.get_db()
    async with db.scope(ctx.user_id) as s:
        ids = [item.id for item in await s.feedback.list_unapplied(READ_BY_PASS)]
    answers: list[dict[str, Any]] = []
    for feedback_id in ids:
        try:
            async with db.scope(ctx.user_id) as s:
                item = await s.feedback.lock(feedback_id)
                if FeedbackPayload.read(item.payload).applied is not None:
                    continue  # another pass got to it first
                if item.kind is FeedbackKind.CHECK_IN:
                    applied = await _check_in_answer(ctx, s, item)
                else:
                    applied = await _review_answer(ctx, s, item)
                await s.feedback.mark_applied(item.id, applied)
        except Exception:
            log.exception("an answer could not be acted on", feedback_id=feedback_id)
            continue
        log.info("owner's answer acted on", feedback_id=feedback_id, applied=applied)
        answers.append({"feedback_id": feedback_id, "applied": applied})
    return {"answers": answers}


async def _check_in_answer(ctx: GraphContext, s: UserScope, item: FeedbackRequest) -> str:
    """Keep going, pause, stop (cancel what has not started, summarise) or new instructions."""
    campaign = await s.campaigns.get(item.campaign_id) if item.campaign_id else None
    if campaign is None:
        return "There is no campaign to act on."
    name = campaign.name
    reply = read_check_in(item.answer or {})
    if campaign.status not in (CampaignStatus.ACTIVE, CampaignStatus.PAUSED):
        return f"'{name}' is {campaign.status.value} already: nothing changed."
    stamp = f"{ctx.now():%Y-%m-%d %H:%M} UTC"
    if reply is not None and reply.action == "stop":
        _, cancelled = await steer(s, campaign.id, CampaignAction.CANCEL)
        summary = default_summary(_campaign_view(campaign), await _task_views(s, campaign.id))
        await s.campaigns.set_summary(
            campaign.id, f"Stopped by you at a check-in ({stamp}).\n{summary}"
        )
        return f"'{name}' is stopped; {cancelled} call(s) not yet made are cancelled."
    if reply is not None and reply.action == "pause":
        if campaign.status is CampaignStatus.ACTIVE:
            why = f"Paused by you at a check-in ({stamp}); press Resume to dial again."
            await steer(s, campaign.id, CampaignAction.PAUSE, reason=why)
        return f"'{name}' is paused; press Resume in Campaigns to dial again."
    if reply is not None and reply.action == "instructions":
        count = await s.tasks.append_instructions(
            f"\n\nNew instructions from the owner ({stamp}): {reply.text}", campaign_id=campaign.id
        )
        said = f"the next calls of '{name}' ({count} target(s)) follow your new instructions."
    else:
        said = f"'{name}' goes on."
        if campaign.status is CampaignStatus.PAUSED:
            await steer(s, campaign.id, CampaignAction.RESUME)
    # Dates the answer too: the next check-in waits a full period from now.
    await s.campaigns.set_summary(campaign.id, f"Checked in with you {stamp}: {said}")
    return said[0].upper() + said[1:]


async def _review_answer(ctx: GraphContext, s: UserScope, item: FeedbackRequest) -> str:
    """A review asked when the analyzer could not run: the owner's step, or the review again."""
    if item.task_id is None:
        return "There is no task to act on."
    task = await s.tasks.require(item.task_id)
    campaign = await s.campaigns.require(task.campaign_id)
    settings = ctx.get_settings()
    callee = Callee(
        zones=list(task.time_zones) or ["UTC"],
        window=plan_window(
            settings.calling_window_start,
            settings.calling_window_end,
            StoredPlan.read(campaign.plan).constraints,
        ),
        now=ctx.now(),
        region=settings.default_region,
    )
    read = read_answer(item.answer or {}, callee, can_accept=False)
    if read is None or isinstance(read, Unread):
        problem = read.problem if read is not None else "only a next step can be chosen here"
        again = await ask_owner_about_call(s, task.id, item.call_id, "Not applied: " + problem)
        return f"Not applied: {problem} (asked again: #{again})"
    moved = await move_task(
        s,
        task.id,
        outcome=task.last_outcome or "reviewed",
        # Accepting is not offered here (can_accept=False); an "accept" would end the task.
        action=NextAction.DONE if read.action == "accept" else NextAction(read.action),
        at=read.at,
        reason=read.reason,
        goal_achieved=False,
        now=callee.now,
        phone=read.phone,
    )
    return describe_task(moved, callee.zone)


async def _task_view(s: UserScope, task: Task) -> TaskView:
    calls = await s.calls.list_for_task(task.id)
    analyses = [a for a in (StoredAnalysis.read(c.analysis) for c in calls) if a is not None]
    if len(analyses) < sum(1 for c in calls if c.analysis):
        log.warning("unreadable analysis ignored", task_id=task.id, user_id=s.user_id)
    latest = analyses[-1] if analyses else None
    won = any(a.final and a.goal_achieved for a in analyses)
    return TaskView(
        id=task.id,
        campaign_id=task.campaign_id,
        target_name=task.target_name,
        phone=task.phone_e164,
        status=task.status.value,
        due_at=task.due_at,
        attempts=task.attempts,
        max_attempts=task.max_attempts,
        lease_expires_at=task.lease_expires_at,
        created_at=task.created_at,
        updated_at=task.updated_at,
        last_call_id=calls[-1].id if calls else None,
        time_zones=list(task.time_zones),
        last_outcome=task.last_outcome,
        live_call=any(c.state is not CallState.ENDED for c in calls),
        goal_achieved=won,
        latest_outcome=latest.outcome if latest else None,
        latest_next_step=latest.next_step.action.value if latest else None,
        analysis_summary=latest.summary if latest else None,
        facts=latest.confirmed_facts() if latest else {},
    )


def _campaign_view(
    c: Campaign, *, pending_check_in: bool = False, last_check_in_at: dt.datetime | None = None
) -> CampaignView:
    return CampaignView(
        id=c.id,
        name=c.name,
        objective=c.objective,
        status=c.status.value,
        stop_rule=c.stop_rule.value,
        created_at=c.created_at,
        updated_at=c.updated_at,
        constraints=StoredPlan.read(c.plan).constraints,
        pending_check_in=pending_check_in,
        last_check_in_at=last_check_in_at,
    )


async def _task_views(s: UserScope, campaign_id: int) -> list[TaskView]:
    return [await _task_view(s, t) for t in await s.tasks.list_for_campaign(campaign_id)]


def _asked_at(item: FeedbackRequest) -> dt.datetime | None:
    """When a check-in was asked, by the pass's own clock (kept in its payload)."""
    return FeedbackPayload.read(item.payload).asked_at or item.created_at


async def observe(state: LifecycleState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Read the user's active campaigns, their tasks, calls and pending check-ins."""
    ctx = await context_of(runtime)
    settings = ctx.get_settings()
    campaigns: list[CampaignView] = []
    tasks: list[TaskView] = []
    async with ctx.get_db().scope(ctx.user_id) as s:
        checked_in = {f.campaign_id for f in await s.feedback.list_pending(FeedbackKind.CHECK_IN)}
        for c in await s.campaigns.list(CampaignStatus.ACTIVE):
            check_ins = await s.feedback.list_for_campaign(c.id, FeedbackKind.CHECK_IN)
            asked = [_asked_at(i) for i in check_ins]
            campaigns.append(
                _campaign_view(
                    c,
                    pending_check_in=c.id in checked_in,
                    last_check_in_at=max((a for a in asked if a), default=None),
                )
            )
            tasks.extend(await _task_views(s, c.id))
    observation = Observation(
        now=ctx.now(),
        legal_start=settings.calling_window_start,
        legal_end=settings.calling_window_end,
        check_in_after=dt.timedelta(hours=ctx.check_in_after_hours),
        campaigns=campaigns,
        tasks=tasks,
    )
    return {"observation": observation.model_dump(mode="json"), "round": state.get("round", 0) + 1}


async def orient_node(state: LifecycleState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Pure rules: what needs a decision, what may be done about it, and the safe default."""
    await context_of(runtime)
    findings = orient(Observation.model_validate(state["observation"]))
    return {"findings": [f.model_dump(mode="json") for f in findings], "decision": None}


def route_after_orient(state: LifecycleState) -> Literal["decide", "__end__"]:
    return "decide" if state.get("findings") else "__end__"


def _briefing(obs: Observation, findings: list[Finding]) -> str:
    ended = {f.campaign_id for f in findings if f.kind == "campaign_done"}
    data = {
        "now": obs.now.isoformat(),
        "findings": [f.model_dump(mode="json", exclude={"default": {"source"}}) for f in findings],
        "ended_campaigns": [
            {
                "campaign_id": c.id,
                "name": c.name,
                "objective": c.objective,
                "targets": [
                    {
                        "name": t.target_name,
                        "status": t.status,
                        "outcome": t.latest_outcome,
                        "goal_achieved": t.goal_achieved,
                        "facts": t.facts,
                        "summary": t.analysis_summary,
                    }
                    for t in obs.tasks_of(c.id)
                ],
            }
            for c in obs.campaigns
            if c.id in ended
        ],
    }
    return json.dumps(data, indent=1, default=str)


async def decide(state: LifecycleState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """The model proposes choices and summaries; on failure the defaults stand."""
    ctx = await context_of(runtime)
    obs = Observation.model_validate(state["observation"])
    findings = [Finding.model_validate(f) for f in state.get("findings") or []]
    messages = [
        SystemMessage(content=load_prompt(AGENT, "system", ctx.prompt_version)),
        HumanMessage(content=_briefing(obs, findings)),
    ]
    try:
        decision = await ainvoke_structured(
            await ctx.model("lifecycle"), LifecycleDecision, messages
        )
    except Exception:
        log.exception("lifecycle model failed; keeping the defaults", user_id=ctx.user_id)
        return {"decision": None}
    return {"decision": decision.model_dump(mode="json")}


async def _still_valid(
    s: UserScope, action: Action, observed: TaskView | None, now: dt.datetime
) -> str | None:
    """Why the action must be skipped because the task changed since it was observed."""
    if action.task_id is None or action.kind in ("cancel_siblings", "check_in"):
        return None
    task = await s.tasks.require(action.task_id)
    if observed is None or task.status.value != observed.status:
        return f"task {task.id} changed to {task.status.value} meanwhile"
    fresh = observed.model_copy(update={"lease_expires_at": task.lease_expires_at})
    return f"task {task.id} is in a call" if in_call(fresh, now) else None


async def _apply(
    s: UserScope, action: Action, obs: Observation, summaries: dict[int, str]
) -> int | None:
    """Do one action; returns a created check-in's feedback id."""
    campaign = next(c for c in obs.campaigns if c.id == action.campaign_id)
    if action.kind == "reschedule" and action.task_id and action.due_at:
        await s.tasks.set_status(action.task_id, TaskStatus.PENDING, due_at=action.due_at)
    elif action.kind == "hold" and action.task_id:
        await s.tasks.set_status(action.task_id, TaskStatus.ON_HOLD)
    elif action.kind == "fail" and action.task_id:
        await s.tasks.set_status(action.task_id, TaskStatus.FAILED)
    elif action.kind == "review" and action.task_id:
        task = obs.task(action.task_id)
        call_id = task.last_call_id if task else None
        await ask_owner_about_call(s, action.task_id, call_id, action.reason)
    elif action.kind == "cancel_siblings":
        await s.tasks.cancel_pending_siblings(campaign.id, keep_task_id=action.task_id)
    elif action.kind == "complete_campaign":
        ended, total = await s.campaigns.progress(campaign.id)
        if total and ended == total:
            summary = summaries.get(campaign.id) or default_summary(
                campaign, obs.tasks_of(campaign.id)
            )
            await s.campaigns.set_summary(campaign.id, summary)
            await s.campaigns.set_status(campaign.id, CampaignStatus.COMPLETED)
    elif action.kind == "check_in":
        ended, total = await s.campaigns.progress(campaign.id)
        progress = f"In progress: {ended} of {total} task(s) ended (checked in {obs.now:%Y-%m-%d %H:%M} UTC)."
        feedback_id = await ensure_feedback(
            s,
            kind=FeedbackKind.CHECK_IN,
            thread_id=None,
            key=f"check-in:{campaign.id}:{obs.now:%Y-%m-%d}",
            question=f"'{campaign.name}' has been running since {campaign.created_at:%Y-%m-%d}: "
            f"{ended} of {total} calls are done. Keep going?",
            payload={
                "campaign_id": campaign.id,
                "ended": ended,
                "total": total,
                "asked_at": obs.now.isoformat(),
            },
            campaign_id=campaign.id,
        )
        # The running summary also dates this check-in, so the next one waits a full period.
        await s.campaigns.set_summary(campaign.id, progress)
        return feedback_id
    return None


async def act(state: LifecycleState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Apply the actions the guards let through, in one transaction."""
    ctx = await context_of(runtime)
    obs = Observation.model_validate(state["observation"])
    findings = [Finding.model_validate(f) for f in state.get("findings") or []]
    raw = state.get("decision")
    decision = LifecycleDecision.model_validate(raw) if raw else None
    actions, rejected = dispose(findings, decision, obs)
    summaries = {s.campaign_id: s.summary for s in (decision.summaries if decision else [])}
    done: list[Action] = []
    check_ins: list[int] = []
    async with ctx.get_db().scope(ctx.user_id) as s:
        for action in actions:
            why = await _still_valid(s, action, obs.task(action.task_id), ctx.now())
            if why:
                rejected.append(f"{action.finding_id}: skipped, {why}")
                continue
            feedback_id = await _apply(s, action, obs, summaries)
            if feedback_id is not None:
                check_ins.append(feedback_id)
            done.append(action)
    return {
        "actions": (state.get("actions") or []) + [a.model_dump(mode="json") for a in done],
        "rejected": (state.get("rejected") or []) + rejected,
        "completed_campaigns": (state.get("completed_campaigns") or [])
        + [a.campaign_id for a in done if a.kind == "complete_campaign"],
        "check_ins": (state.get("check_ins") or []) + check_ins,
    }


def route_after_act(state: LifecycleState) -> Literal["observe", "__end__"]:
    # Cancelling siblings may have ended a campaign: look once more so it is completed now.
    cancelled = any(a.get("kind") == "cancel_siblings" for a in state.get("actions") or [])
    return "observe" if cancelled and state.get("round", 0) < MAX_ROUNDS else "__end__"


builder = StateGraph(
    LifecycleState,
    context_schema=GraphContext,
    input_schema=LifecycleInput,
    output_schema=LifecycleReport,
)
builder.add_node("start", start)
builder.add_node("take_answers", take_answers)
builder.add_node("observe", observe)
builder.add_node("orient", orient_node)
builder.add_node("decide", decide)
builder.add_node("act", act)
builder.add_edge(START, "start")
builder.add_edge("start", "take_answers")
builder.add_edge("take_answers", "observe")
builder.add_edge("observe", "orient")
builder.add_conditional_edges("orient", route_after_orient)
builder.add_edge("decide", "act")
builder.add_conditional_edges("act", route_after_act)

graph = builder.compile(name="lifecycle_manager")
