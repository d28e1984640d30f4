"""The lifecycle manager's deterministic rules: what needs attention, and what may be done.

`orient` turns an observation into findings, each with the actions allowed for it and a safe
default. The model may pick among the allowed actions; `dispose` checks every pick against the
guards (never reschedule into the past or outside the calling window, never touch a task that is
in a call, only the finding's allowed actions) and falls back to the default when a pick fails.
"""

from __future__ import annotations

import datetime as dt

from agents.calling_window import first_opening, is_open, plan_window
from agents.lifecycle_manager.schemas import (
    Action,
    CampaignView,
    Finding,
    LifecycleDecision,
    Observation,
    TaskView,
)
from core.rules.calling_window import Window

OPEN = ("pending", "claimed", "analyzing", "on_hold")
# The scheduler's lease reaper deals with an expired lease first (it asks the PBX whether the
# call is still up); only a task it has left alone this long is the lifecycle manager's.
STUCK_GRACE = dt.timedelta(minutes=15)
FAILURE_OUTCOMES = ("technical_failure", "failed", "congestion")


def window_for(obs: Observation, campaign: CampaignView) -> Window | None:
    return plan_window(obs.legal_start, obs.legal_end, campaign.constraints)


def in_call(task: TaskView, now: dt.datetime) -> bool:
    """A task is in a call while its lease runs or a call of it has not ended."""
    if task.live_call:
        return True
    lease = task.lease_expires_at
    return task.status == "claimed" and lease is not None and lease > now


def _action(
    finding_id: str, kind: str, task: TaskView | None, campaign_id: int, **kw: object
) -> Action:
    return Action.model_validate(
        {
            "finding_id": finding_id,
            "kind": kind,
            "campaign_id": campaign_id,
            "task_id": task.id if task else None,
            **kw,
        }
    )


def _task_findings(obs: Observation, campaign: CampaignView, task: TaskView) -> list[Finding]:
    now = obs.now
    window = window_for(obs, campaign)
    if task.status not in OPEN or in_call(task, now):
        return []
    label = f"task {task.id} ({task.target_name}, {task.phone})"
    if task.status == "analyzing":
        return _analysis_stalled(obs, campaign, task, label)
    if task.status == "claimed":  # the lease ran out and no call is up: the dialler died
        lease = task.lease_expires_at
        if lease is not None and lease > now - STUCK_GRACE:
            return []
        fid = f"stuck:{task.id}"
        if task.attempts >= task.max_attempts:
            default = _action(fid, "fail", task, campaign.id, reason="stuck, no attempts left")
        else:
            at = first_opening(task.time_zones, window, now)
            default = (
                _action(fid, "reschedule", task, campaign.id, due_at=at, reason="stuck; retry")
                if at
                else _action(fid, "hold", task, campaign.id, reason="stuck; no window left")
            )
        detail = f"{label} is claimed but its lease ran out at {task.lease_expires_at}"
        return [
            Finding(
                id=fid,
                kind="stuck",
                campaign_id=campaign.id,
                task_id=task.id,
                detail=detail,
                allowed=["reschedule", "hold", "fail"],
                default=default,
            )
        ]
    if task.status != "pending":
        return []
    if task.latest_next_step == "call_back_at":
        if task.due_at > now:
            return []
        fid = f"callback_due:{task.id}"
        default = _action(
            fid, "none", task, campaign.id, reason="callback due; the scheduler dials"
        )
        if not is_open(task.time_zones, window, now):
            at = first_opening(task.time_zones, window, now)
            default = (
                _action(
                    fid,
                    "reschedule",
                    task,
                    campaign.id,
                    due_at=at,
                    reason="callback due outside the calling window",
                )
                if at
                else _action(fid, "hold", task, campaign.id, reason="no calling window left")
            )
        return [
            Finding(
                id=fid,
                kind="callback_due",
                campaign_id=campaign.id,
                task_id=task.id,
                detail=f"{label}: the callee asked to be called back at {task.due_at}",
                allowed=["none", "reschedule", "hold"],
                default=default,
            )
        ]
    if task.attempts >= task.max_attempts:
        fid = f"exhausted:{task.id}"
        return [
            Finding(
                id=fid,
                kind="exhausted",
                campaign_id=campaign.id,
                task_id=task.id,
                detail=f"{label} used {task.attempts} of {task.max_attempts} attempts",
                allowed=["fail", "hold"],
                default=_action(fid, "fail", task, campaign.id, reason="no attempts left"),
            )
        ]
    outcome = task.latest_outcome or task.last_outcome
    if outcome in FAILURE_OUTCOMES and task.attempts >= 2:
        fid = f"failing:{task.id}"
        return [
            Finding(
                id=fid,
                kind="failing",
                campaign_id=campaign.id,
                task_id=task.id,
                detail=f"{label}: {task.attempts} attempts, last one {outcome}",
                allowed=["none", "hold"],
                default=_action(fid, "none", task, campaign.id, reason="keep trying"),
            )
        ]
    return []


def _analysis_stalled(
    obs: Observation, campaign: CampaignView, task: TaskView, label: str
) -> list[Finding]:
    """An analysis whose node stopped renewing the claim (it died mid-analysis): the call
    happened, so the owner decides from its transcript rather than the callee being rung
    again on a guess."""
    since = task.lease_expires_at or task.updated_at
    if since is None or since > obs.now - STUCK_GRACE:
        return []  # still running: its node renews the lease
    fid = f"analysis_stalled:{task.id}"
    return [
        Finding(
            id=fid,
            kind="analysis_stalled",
            campaign_id=campaign.id,
            task_id=task.id,
            detail=f"{label}: its call ended, but its analysis stopped (nothing since {since})",
            allowed=["review", "reschedule", "fail"],
            default=_action(
                fid, "review", task, campaign.id, reason="the analysis of its last call stopped"
            ),
        )
    ]


def orient(obs: Observation) -> list[Finding]:
    """Everything that needs a decision in this pass, with a safe default for each."""
    findings: list[Finding] = []
    for campaign in obs.campaigns:
        if campaign.status != "active":
            continue
        tasks = obs.tasks_of(campaign.id)
        won = next((t for t in tasks if t.goal_achieved), None)
        waiting = [t for t in tasks if t.status in ("pending", "on_hold") and t is not won]
        if campaign.stop_rule == "first_success" and won and waiting:
            fid = f"stop_rule_met:{campaign.id}"
            findings.append(
                Finding(
                    id=fid,
                    kind="stop_rule_met",
                    campaign_id=campaign.id,
                    task_id=won.id,
                    detail=f"{won.target_name} achieved the goal; {len(waiting)} other task(s) wait",
                    allowed=["cancel_siblings"],
                    default=_action(
                        fid,
                        "cancel_siblings",
                        won,
                        campaign.id,
                        reason="first success: the goal is met",
                    ),
                )
            )
            continue  # the siblings are about to end; nothing else to decide for them
        open_tasks = [t for t in tasks if t.status in OPEN]
        if tasks and not open_tasks:
            fid = f"campaign_done:{campaign.id}"
            findings.append(
                Finding(
                    id=fid,
                    kind="campaign_done",
                    campaign_id=campaign.id,
                    detail=f"all {len(tasks)} task(s) ended",
                    allowed=["complete_campaign"],
                    default=_action(
                        fid, "complete_campaign", None, campaign.id, reason="all ended"
                    ),
                )
            )
            continue
        for task in open_tasks:
            findings.extend(_task_findings(obs, campaign, task))
        age = obs.now - obs.check_in_after
        asked = campaign.last_check_in_at
        if (
            open_tasks
            and campaign.created_at <= age
            and campaign.updated_at <= age
            and (asked is None or asked <= age)
            and not campaign.pending_check_in
        ):
            fid = f"check_in:{campaign.id}"
            findings.append(
                Finding(
                    id=fid,
                    kind="check_in",
                    campaign_id=campaign.id,
                    detail=f"running since {campaign.created_at:%Y-%m-%d}; {len(open_tasks)} open",
                    allowed=["check_in", "none"],
                    default=_action(fid, "check_in", None, campaign.id, reason="long-running"),
                )
            )
    return findings


def _guard(action: Action, obs: Observation) -> str | None:
    """Why the action must not be done, or None when it may."""
    task = obs.task(action.task_id)
    if (
        action.kind in ("reschedule", "hold", "fail", "review")
        and task is not None
        and in_call(task, obs.now)
    ):
        return f"task {task.id} is in a call"
    if action.kind == "reschedule":
        if action.due_at is None or action.due_at.tzinfo is None:
            return "reschedule needs an aware due time"
        if action.due_at < obs.now:
            return f"{action.due_at.isoformat()} is in the past"
        campaign = next(c for c in obs.campaigns if c.id == action.campaign_id)
        if task is not None and not is_open(
            task.time_zones, window_for(obs, campaign), action.due_at
        ):
            return f"{action.due_at.isoformat()} is outside the calling window"
    return None


def dispose(
    findings: list[Finding], decision: LifecycleDecision | None, obs: Observation
) -> tuple[list[Action], list[str]]:
    """The actions to take: the model's picks where the guards allow, else the defaults."""
    picks = {c.finding_id: c for c in (decision.choices if decision else [])}
    actions: list[Action] = []
    rejected: list[str] = []
    for finding in findings:
        choice = picks.get(finding.id)
        action = finding.default
        if choice is not None:
            proposed = finding.default.model_copy(
                update={
                    "kind": choice.action,
                    "due_at": choice.due_at,
                    "reason": choice.reason or finding.default.reason,
                    "source": "model",
                }
            )
            why = (
                f"{choice.action} is not allowed (allowed: {', '.join(finding.allowed)})"
                if choice.action not in finding.allowed
                else _guard(proposed, obs)
            )
            if why is None:
                action = proposed
            else:
                rejected.append(f"{finding.id}: model proposed {choice.action}, refused: {why}")
        if _guard(action, obs) is None and action.kind != "none":
            actions.append(action)
    return actions, rejected


def default_summary(campaign: CampaignView, tasks: list[TaskView]) -> str:
    """A plain summary written from the analyses, used when the model gives none."""
    won = [t for t in tasks if t.goal_achieved]
    lines = [
        f"Campaign '{campaign.name}' ended: {len(won)} of {len(tasks)} target(s) achieved the "
        f"objective ({campaign.objective})."
    ]
    for t in tasks:
        facts = "; ".join(f"{k}: {v}" for k, v in t.facts.items())
        outcome = (t.latest_outcome or t.last_outcome or t.status).replace("_", " ")
        lines.append(f"- {t.target_name} ({t.phone}): {outcome}" + (f" — {facts}" if facts else ""))
    return "\n".join(lines)
