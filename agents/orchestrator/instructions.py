"""Texts the orchestrator writes from its templates: per-call instructions and the approval card."""

from __future__ import annotations

from agents.calling_window import describe_window
from agents.orchestrator.validation import PlanReview
from agents.prompts import render_prompt
from agents.schemas import CampaignPlan, Target
from core.rules.calling_window import Window

AGENT = "orchestrator"


def _bullets(items: list[str], empty: str) -> str:
    return "\n".join(f"- {item}" for item in items) if items else f"- {empty}"


def call_instructions(
    plan: CampaignPlan,
    target: Target,
    *,
    owner: str,
    version: str = "v1",
) -> str:
    """The voice agent's task sheet for one call, from `call_instructions.md`.

    The bridge wraps it in the voice agent's standing rules (`agents/call_agent`); when to call
    is the scheduler's business and is not repeated here, and neither is the AI disclosure: the
    greeting carries the owner's own line when the call starts (one source, their preference).
    """
    c = plan.constraints
    limits = [*c.notes, f"Keep the call under {c.max_call_minutes} minutes."]
    return render_prompt(
        AGENT,
        "call_instructions",
        version,
        target_name=target.name,
        owner=owner,
        objective=plan.objective,
        questions=_bullets(plan.questions, "none beyond the objective"),
        may_disclose=_bullets(plan.disclosure, f"only that you call on behalf of {owner}"),
        constraints=_bullets(limits, "none"),
        success_criteria=_bullets(plan.success_criteria, "the objective is achieved"),
        voicemail=(
            f'leave this message: "{plan.voicemail_message}"'
            if plan.voicemail_message
            else "hang up without leaving a message."
        ),
        target_notes=target.notes or "nothing more is known.",
    )


def approval_description(
    plan: CampaignPlan,
    review: PlanReview,
    *,
    window: Window | None,
    note: str | None = None,
    version: str = "v1",
) -> str:
    """The markdown the owner sees on the approval card."""
    rows = []
    for t in review.targets:
        first = f"{t.first_call_at:%Y-%m-%d %H:%M} UTC" if t.first_call_at else "—"
        check = "ok" if t.callable else "**skipped**: " + "; ".join(t.issues)
        rows.append(
            f"| {t.index + 1} | {t.name} | {t.phone} | {', '.join(t.time_zones) or '?'} "
            f"| {first} | {check} |"
        )
    issues = ""
    if review.issues:
        issues = "**Needs your attention:**\n" + "\n".join(f"- {i}" for i in review.issues)
    if note:
        issues = f"**{note}**\n\n{issues}".strip()
    return render_prompt(
        AGENT,
        "approval",
        version,
        name=plan.name,
        objective=plan.objective,
        stop_rule=plan.stop_rule.value.replace("_", " "),
        max_attempts=plan.max_attempts,
        window=describe_window(window),
        caller_id=plan.caller_id or "your usual one",
        targets="\n".join(rows),
        issues=issues,
    )
