"""Orchestrator graph: check a plan, get the owner's approval, create the campaign and its tasks.

validate → request_approval → await_approval (interrupt) → create_campaign | reject
                                        ├ edit (a plan)   → apply_edit → validate (or ask again)
                                        └ edit (in words) → revise_plan (model) → validate → ask

Side effects before the interrupt are idempotent: the approval row is written by its own node
(found again by thread and round if that node re-runs), the campaign's idempotency key is
derived from the thread, and tasks are unique per (campaign, number).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from pydantic import ValidationError
from typing_extensions import TypedDict

from agents.calling_window import plan_window
from agents.orchestrator import (
    PlanReview,
    approval_description,
    call_instructions,
    review_plan,
)
from agents.prompts import load_prompt
from agents.schemas import CampaignPlan, parse_plan, validation_problems
from agents.scripted import is_rehearsal
from agents.structured import ainvoke_structured
from core.domain import CampaignStatus, FeedbackKind
from core.logging import get_logger
from core.rules.caller_id import CallerIdRefused, allowed_caller_id
from core.rules.calling_window import Window
from graphs.context import GraphContext, context_of, run_thread_id
from graphs.hitl import ask_owner, ensure_feedback, human_interrupt

AGENT = "orchestrator"
log = get_logger("opendeep.graphs.orchestrator")

Status = Literal["invalid", "nothing_to_call", "awaiting_approval", "approved", "rejected"]


class OrchestratorInput(TypedDict):
    plan: dict[str, Any]


class OrchestratorOutput(TypedDict, total=False):
    status: Status
    campaign_id: int | None
    task_ids: list[int]
    problems: list[str]
    owner_comment: str | None
    feedback_id: int | None


class OrchestratorState(OrchestratorOutput, total=False):
    plan: dict[str, Any]
    review: dict[str, Any]
    round: int
    note: str | None
    decision: Literal["accept", "edit", "response", "ignore"] | None
    edited_plan: dict[str, Any] | None
    change_request: str | None
    revised: bool
    edit_approved: bool


def _window(ctx: GraphContext, plan: CampaignPlan) -> Window | None:
    s = ctx.get_settings()
    return plan_window(s.calling_window_start, s.calling_window_end, plan.constraints)


async def _review(ctx: GraphContext, plan: CampaignPlan) -> PlanReview:
    async with ctx.get_db().scope(ctx.user_id) as s:
        dnc = {t.phone for t in plan.targets if await s.dnd.blocks(t.phone)}
    return review_plan(plan, dnc=dnc, window=_window(ctx, plan), now=ctx.now())


async def receive(state: OrchestratorState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """A new plan starts a fresh review (a thread reused for a new plan keeps nothing old)."""
    await context_of(runtime)
    return {
        "round": 1,
        "note": None,
        "decision": None,
        "edited_plan": None,
        "change_request": None,
        "edit_approved": False,
        "feedback_id": None,
        "campaign_id": None,
        "task_ids": [],
        "owner_comment": None,
    }


async def validate(state: OrchestratorState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Parse the plan (E.164 and all) and check every target: DNC and calling window."""
    ctx = await context_of(runtime)
    try:
        plan = parse_plan(state["plan"], default_region=ctx.get_settings().default_region)
    except ValidationError as exc:
        return {"status": "invalid", "problems": validation_problems(exc)}
    if plan.caller_id:
        s = ctx.get_settings()
        try:
            number = allowed_caller_id(plan.caller_id, s.caller_id_numbers, region=s.default_region)
        except CallerIdRefused as exc:
            return {"status": "invalid", "problems": [f"caller ID: {exc}"]}
        plan = plan.model_copy(update={"caller_id": number})
    review = await _review(ctx, plan)
    update: dict[str, Any] = {
        "plan": plan.model_dump(mode="json"),
        "review": review.model_dump(mode="json"),
        "problems": review.issues,
    }
    if not review.callable_targets:
        return {**update, "status": "nothing_to_call"}
    if state.get("edit_approved") and review.issues:
        # The owner's edit brought new problems: show them before anything is created.
        update.update(edit_approved=False, note="Your edited plan has problems; please look again.")
    return {**update, "status": "awaiting_approval"}


def route_after_validate(
    state: OrchestratorState,
) -> Literal["request_approval", "create_campaign", "__end__"]:
    if state.get("status") in ("invalid", "nothing_to_call"):
        return "__end__"
    return "create_campaign" if state.get("edit_approved") else "request_approval"


async def request_approval(
    state: OrchestratorState, runtime: Runtime[GraphContext]
) -> dict[str, Any]:
    """Write the approval item for this round (once, however often this node runs)."""
    ctx = await context_of(runtime)
    plan = CampaignPlan.model_validate(state["plan"])
    review = PlanReview.model_validate(state["review"])
    round_ = state.get("round", 1)
    description = approval_description(
        plan,
        review,
        window=_window(ctx, plan),
        note=state.get("note"),
        version=ctx.prompt_version,
    )
    async with ctx.get_db().scope(ctx.user_id) as s:
        feedback_id = await ensure_feedback(
            s,
            kind=FeedbackKind.PLAN_APPROVAL,
            thread_id=run_thread_id(),
            key=f"round-{round_}",
            question=f"Approve the campaign '{plan.name}'?",
            payload={
                "plan": state["plan"],
                "review": state["review"],
                "warnings": review.issues,
                "description": description,
            },
        )
    return {"feedback_id": feedback_id, "round": round_, "status": "awaiting_approval"}


async def await_approval(
    state: OrchestratorState, runtime: Runtime[GraphContext]
) -> dict[str, Any]:
    """Interrupt until the owner answers: accept, edit the plan, respond (reject), or ignore."""
    ctx = await context_of(runtime)
    plan = CampaignPlan.model_validate(state["plan"])
    review = PlanReview.model_validate(state["review"])
    feedback_id = state.get("feedback_id")
    assert feedback_id is not None
    answer = ask_owner(
        human_interrupt(
            action="approve_campaign_plan",
            args=state["plan"],
            description=approval_description(
                plan,
                review,
                window=_window(ctx, plan),
                note=state.get("note"),
                version=ctx.prompt_version,
            ),
            feedback_id=feedback_id,
        )
    )
    args = answer["args"]
    edit = answer["type"] == "edit"
    return {
        "decision": answer["type"],
        "edited_plan": args if edit and isinstance(args, dict) else None,
        "change_request": args if edit and isinstance(args, str) else None,
        "owner_comment": args if answer["type"] == "response" else None,
    }


def route_decision(
    state: OrchestratorState,
) -> Literal["create_campaign", "apply_edit", "revise_plan", "reject"]:
    decision = state.get("decision")
    if decision == "accept":
        return "create_campaign"
    if decision == "edit":
        return "revise_plan" if state.get("change_request") else "apply_edit"
    return "reject"


async def revise_plan(state: OrchestratorState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """The owner asked for changes in words: the model rewrites the plan, the owner sees it again."""
    ctx = await context_of(runtime)
    changes = state.get("change_request") or ""
    next_round = state.get("round", 1) + 1
    model = await ctx.model("orchestrator")
    messages = [
        SystemMessage(content=load_prompt(AGENT, "revise", ctx.prompt_version)),
        HumanMessage(
            content=f"Current plan:\n{json.dumps(state['plan'], indent=1)}\n\n"
            f"The owner's changes:\n{changes}"
        ),
    ]
    try:
        revised = await ainvoke_structured(model, CampaignPlan, messages)
        plan = parse_plan(revised, default_region=ctx.get_settings().default_region)
    except Exception as exc:
        log.warning("plan revision failed", user_id=ctx.user_id, error=type(exc).__name__)
        problems = (
            "; ".join(validation_problems(exc)) if isinstance(exc, ValidationError) else str(exc)
        )
        note = f"Your changes could not be applied ({problems[:300]}); please edit the plan."
        return {"round": next_round, "note": note, "edit_approved": False, "revised": False}
    note = f"Revised as you asked: {changes}"
    if is_rehearsal(model):
        note += " (rehearsal: the scripted model cannot rewrite plans, so it is unchanged)"
    return {
        "plan": plan.model_dump(mode="json"),
        "round": next_round,
        "note": note,
        "edit_approved": False,
        "revised": True,
    }


async def apply_edit(state: OrchestratorState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Take the owner's edited plan if it is valid; otherwise ask again, naming the problem."""
    ctx = await context_of(runtime)
    next_round = state.get("round", 1) + 1
    try:
        edited = parse_plan(
            state.get("edited_plan") or {}, default_region=ctx.get_settings().default_region
        )
    except ValidationError as exc:
        note = "Your edit was not applied: " + "; ".join(validation_problems(exc))
        return {"round": next_round, "note": note, "edit_approved": False}
    return {
        "plan": edited.model_dump(mode="json"),
        "round": next_round,
        "note": None,
        "edit_approved": True,
    }


def route_after_edit(state: OrchestratorState) -> Literal["validate", "request_approval"]:
    return "validate" if state.get("edit_approved") else "request_approval"


def route_after_revision(state: OrchestratorState) -> Literal["validate", "request_approval"]:
    # A revised plan is checked again; a failed revision goes back with the note.
    return "validate" if state.get("revised") else "request_approval"


async def create_campaign(
    state: OrchestratorState, runtime: Runtime[GraphContext]
) -> dict[str, Any]:
    """Create the campaign and one task per callable target, then mark the campaign active.

    Targets are checked again now (the approval may have taken days: a number may have gone on
    the Do-Not-Call list, and the first call time moves on).
    """
    ctx = await context_of(runtime)
    plan = CampaignPlan.model_validate(state["plan"])
    thread_id = run_thread_id()
    review = await _review(ctx, plan)
    window = _window(ctx, plan)
    db = ctx.get_db()
    async with db.users() as users:
        profile = await users.profile(ctx.user_id)
    owner = profile.display_name if profile else "the owner"
    async with db.scope(ctx.user_id) as s:
        campaign = await s.campaigns.create(
            idempotency_key=f"orchestrator:{thread_id}"[:128],
            name=plan.name,
            objective=plan.objective,
            plan=plan.model_dump(mode="json"),
            stop_rule=plan.stop_rule,
            window_start=window.start if window else None,
            window_end=window.end if window else None,
            max_attempts=plan.max_attempts,
            voicemail_message=plan.voicemail_message,
            caller_id=plan.caller_id,
            thread_id=thread_id,
        )
        task_ids = []
        for checked in review.callable_targets:
            target = plan.targets[checked.index]
            task = await s.tasks.add(
                campaign_id=campaign.id,
                target_name=target.name,
                phone_e164=target.phone,
                time_zones=target.time_zones,
                instructions=call_instructions(
                    plan,
                    target,
                    owner=owner,
                    version=ctx.prompt_version,
                ),
                due_at=checked.first_call_at,
                max_attempts=plan.max_attempts,
            )
            task_ids.append(task.id)
        if campaign.status is CampaignStatus.PENDING_APPROVAL:
            await s.campaigns.set_status(campaign.id, CampaignStatus.ACTIVE)
    return {
        "status": "approved",
        "campaign_id": campaign.id,
        "task_ids": task_ids,
        "problems": review.issues,
    }


async def reject(state: OrchestratorState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """The owner said no: nothing is created."""
    await context_of(runtime)
    return {"status": "rejected", "campaign_id": None, "task_ids": []}


builder = StateGraph(
    OrchestratorState,
    context_schema=GraphContext,
    input_schema=OrchestratorInput,
    output_schema=OrchestratorOutput,
)
builder.add_node("receive", receive)
builder.add_node("validate", validate)
builder.add_node("request_approval", request_approval)
builder.add_node("await_approval", await_approval)
builder.add_node("apply_edit", apply_edit)
builder.add_node("revise_plan", revise_plan)
builder.add_node("create_campaign", create_campaign)
builder.add_node("reject", reject)
builder.add_edge(START, "receive")
builder.add_edge("receive", "validate")
builder.add_conditional_edges("validate", route_after_validate)
builder.add_edge("request_approval", "await_approval")
builder.add_conditional_edges("await_approval", route_decision)
builder.add_conditional_edges("apply_edit", route_after_edit)
builder.add_conditional_edges("revise_plan", route_after_revision)
builder.add_edge("create_campaign", END)
builder.add_edge("reject", END)

graph = builder.compile(name="orchestrator")
