"""Post-call analyzer graph: transcript + objective + telephony outcome → a checked `CallAnalysis`.

load → analyze → record ─┬→ END (next step returned to the attempt runner, which applies it)
                         ├→ request_review → await_review (interrupt) → apply_verdict ─┬→ record
                         │                   (the answer cannot be read: ask again) ───┘
                         └→ apply_step → END (after a review: the owner's next step is applied)

The model reads the transcript; rules check it: every fact's quote must occur in the transcript
(else `supported=False`), the callback time is resolved in the callee's zone, the next step comes
from the outcome policy, and doubtful analyses go to the owner. An opt-out puts the number on
the user's Do-Not-Call list at once (source "call"), before any review. The owner's answer —
accept, an edit, a button, or words ("call back Thursday after 3", "give up") read by
`agents.post_call_analyzer.owner_reply` — becomes the next step, applied to the task through
the same `apply_next_step` as the runner's; words that cannot be read are asked about again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from zoneinfo import ZoneInfo

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from pydantic import ValidationError
from typing_extensions import TypedDict

from agents.calling_window import plan_window
from agents.post_call_analyzer import (
    EXAMPLES,
    AnalyzerOutput,
    Callee,
    Unread,
    check_facts,
    decide_next_step,
    outcome_from_telephony,
    read_answer,
    read_local_time,
    resolve_callback,
    review_reasons,
)
from agents.post_call_analyzer.evidence import (
    Turn,
    callee_spoke,
    describe_voice,
    render_transcript,
    speech_without_words,
    unheard_review_question,
)
from agents.prompts import load_prompt, render_prompt
from agents.schemas import CallAnalysis, NextStep, validation_problems
from agents.scripted import is_rehearsal
from agents.structured import ainvoke_structured
from core.db.models import FeedbackRequest
from core.domain import (
    AuditAction,
    AuditDetail,
    CallOutcome,
    FeedbackAnswer,
    FeedbackKind,
    StopRule,
    StoredAnalysis,
    StoredPlan,
    TaskStatus,
    TranscriptTurn,
    VoiceActivityRecord,
    dump_items,
    read_items,
)
from core.logging import get_logger
from core.rules.calling_window import Window
from core.services.tasks import ENDED, apply_next_step, describe_task
from graphs.context import GraphContext, context_of, run_thread_id
from graphs.hitl import ask_owner, ensure_feedback, human_interrupt
from media.speech_activity import VoiceActivity

AGENT = "post_call_analyzer"
log = get_logger("opendeep.graphs.post_call_analyzer")


class AnalyzerInput(TypedDict):
    call_id: int


class AnalyzerResult(TypedDict, total=False):
    status: Literal["done", "awaiting_review"]
    analysis: dict[str, Any]
    next_step: dict[str, Any]
    feedback_id: int | None
    applied: str  # what the owner's review did to the task, in words
    note: str | None  # why the owner's answer was not applied (and the review asked again)


class AnalyzerState(AnalyzerResult, total=False):
    call_id: int
    call: dict[str, Any]
    round: int
    answer: dict[str, Any] | None
    phone: str | None  # a new number the owner gave in the review


def _evidence(call: dict[str, Any]) -> tuple[list[Turn], VoiceActivity]:
    """The snapshot's transcript turns (speakers labelled) and the callee's voice activity."""
    turns = [
        Turn(t.role.value, t.text, t.at) for t in read_items(TranscriptTurn, call["transcript"])
    ]
    return turns, VoiceActivity.from_json(call.get("voice_activity"))


async def load(state: AnalyzerState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Read the call, its task and campaign (the user's own, through their scope)."""
    ctx = await context_of(runtime)
    async with ctx.get_db().scope(ctx.user_id) as s:
        call = await s.calls.require(state["call_id"])
        task = await s.tasks.require(call.task_id)
        campaign = await s.campaigns.require(task.campaign_id)
        late = await s.feedback.late_answers(task.id)
    zones = list(task.time_zones) or ["UTC"]
    snapshot = {
        "id": call.id,
        "task_id": task.id,
        "campaign_id": campaign.id,
        "transcript": dump_items(read_items(TranscriptTurn, call.transcript)),
        "telephony": call.outcome.value if call.outcome else None,
        "started_at": (call.answered_at or call.created_at).isoformat(),
        "zones": zones,
        "target_name": task.target_name,
        "phone": task.phone_e164,
        "attempts": max(task.attempts, call.attempt),
        "max_attempts": task.max_attempts,
        "objective": campaign.objective,
        "plan": dict(campaign.plan),
        "stop_rule": campaign.stop_rule.value,
        "owner_notes": [_late_note(item) for item in late],
        # What the line showed of the callee's voice, and where to hear it.
        "voice_activity": VoiceActivityRecord.read(call.voice_activity).to_json(),
        "recording_path": call.recording_path,
    }
    stored = StoredAnalysis.read(call.analysis)
    if stored is not None and stored.final:  # analysed before: hand back the stored result
        return {
            "call": snapshot,
            "status": "done",
            "analysis": stored.model_dump(mode="json"),
            "next_step": stored.next_step.model_dump(mode="json"),
        }
    return {"call": snapshot, "round": 1, "note": None, "answer": None, "feedback_id": None}


def _late_note(item: FeedbackRequest) -> str:
    text = FeedbackAnswer.words_in(item.answer) or ""
    return f"asked \u201c{item.question}\u201d, answered \u201c{text}\u201d"


def route_after_load(state: AnalyzerState) -> Literal["analyze", "__end__"]:
    return "__end__" if state.get("status") == "done" else "analyze"


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {i}" for i in items) or "- (none)"


async def _ask_model(ctx: GraphContext, call: dict[str, Any]) -> tuple[AnalyzerOutput, bool]:
    zone = call["zones"][0]
    started = dt.datetime.fromisoformat(call["started_at"])
    local = started.astimezone(ZoneInfo(zone))
    plan = StoredPlan.read(call["plan"])
    turns, activity = _evidence(call)
    transcript = render_transcript(turns, activity, started)
    # The owner's answers that came after the call that asked had ended.
    transcript += "".join(f"\nowner (after the call): {n}" for n in call.get("owner_notes", []))
    model = await ctx.model("analyzer")
    messages = [
        SystemMessage(content=load_prompt(AGENT, "system", ctx.prompt_version)),
        HumanMessage(
            content=render_prompt(
                AGENT,
                "call",
                ctx.prompt_version,
                objective=call["objective"],
                questions=_bullets(plan.questions),
                success_criteria=_bullets(plan.success_criteria),
                target_name=call["target_name"],
                phone=call["phone"],
                call_time=f"{local:%A %Y-%m-%d %H:%M}",
                zone=zone,
                telephony=call["telephony"] or "unknown",
                voice=describe_voice(activity, call.get("recording_path")),
                transcript=transcript,
            )
        ),
    ]
    return await ainvoke_structured(model, AnalyzerOutput, messages), is_rehearsal(model)


def _window(ctx: GraphContext, call: dict[str, Any]) -> Window | None:
    s = ctx.get_settings()
    limits = StoredPlan.read(call["plan"]).constraints
    return plan_window(s.calling_window_start, s.calling_window_end, limits)


def _checked(
    ctx: GraphContext, call: dict[str, Any], raw: AnalyzerOutput, rehearsal: bool
) -> CallAnalysis:
    """Apply the rules to the model's output: quotes, callback time, next step, review."""
    turns = [t.text for t in read_items(TranscriptTurn, call["transcript"])]
    facts = check_facts(raw.facts, turns)
    started = dt.datetime.fromisoformat(call["started_at"])
    zone = call["zones"][0]
    callback_at = None
    if raw.callback_phrase:
        callback_at = resolve_callback(raw.callback_phrase, started, zone)
    if callback_at is None and raw.callback_local_time:
        callback_at = read_local_time(raw.callback_local_time, started, zone)
    next_step = decide_next_step(
        raw.outcome,
        goal_achieved=raw.goal_achieved,
        callback_at=callback_at,
        proposed=raw.proposed_next_step,
        stop_rule=StopRule(call["stop_rule"]),
        attempts=call["attempts"],
        max_attempts=call["max_attempts"],
        now=ctx.now(),
        zones=call["zones"],
        window=_window(ctx, call),
    )
    reasons = review_reasons(
        outcome=raw.outcome,
        confidence=raw.confidence,
        threshold=ctx.review_threshold,
        next_step=next_step,
        goal_achieved=raw.goal_achieved,
        facts=facts,
        owner_question=raw.owner_question,
    )
    return CallAnalysis(
        outcome=raw.outcome,
        goal_achieved=raw.goal_achieved,
        summary=raw.summary,
        facts=facts,
        callback_phrase=raw.callback_phrase,
        callback_at=callback_at,
        next_step=next_step,
        confidence=raw.confidence,
        review_reasons=reasons,
        rehearsal=rehearsal,
    )


async def analyze(state: AnalyzerState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Telephony decides calls nobody spoke on; the model reads the rest; rules check it."""
    ctx = await context_of(runtime)
    call = state["call"]
    turns, activity = _evidence(call)
    spoke = callee_spoke(turns, activity)  # words, or the line's own account of their voice
    telephony = CallOutcome(call["telephony"]) if call["telephony"] else None
    known = outcome_from_telephony(telephony, callee_spoke=spoke)
    rehearsal = False
    if known is not None:
        raw = AnalyzerOutput(
            outcome=known,
            goal_achieved=False,
            summary=f"No conversation: the phone network reported {call['telephony'] or 'nothing'}.",
            proposed_next_step="retry_at",
            confidence=1.0,
        )
    else:
        try:
            raw, rehearsal = await _ask_model(ctx, call)
        except Exception as exc:
            log.exception("analysis failed", call_id=call["id"], user_id=ctx.user_id)
            raw = AnalyzerOutput(
                outcome="partial",
                goal_achieved=False,
                summary=f"The analyzer could not read this call ({type(exc).__name__}).",
                proposed_next_step="ask_owner",
                owner_question="The automatic analysis failed; please read the transcript "
                "and decide what happens next.",
                confidence=0.0,
            )
        if raw.outcome == "technical_failure" and speech_without_words(turns, activity):
            # The callee spoke; only their words are missing. That is for the owner to judge
            # from the recording, never a failure to retry.
            raw = raw.model_copy(
                update={
                    "outcome": "partial",
                    "goal_achieved": False,
                    "proposed_next_step": "ask_owner",
                    "owner_question": unheard_review_question(call.get("recording_path")),
                }
            )
    analysis = _checked(ctx, call, raw, rehearsal)
    return {"analysis": analysis.model_dump(mode="json")}


async def record(state: AnalyzerState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Store the analysis on the call; honour an opt-out on the user's Do-Not-Call list."""
    ctx = await context_of(runtime)
    analysis = CallAnalysis.model_validate(state["analysis"])
    call = state["call"]
    final = analysis.reviewed_by_owner or not analysis.review_reasons
    stored = StoredAnalysis(**dict(analysis), final=final)
    async with ctx.get_db().scope(ctx.user_id) as s:
        await s.calls.set_results(call["id"], analysis=stored)
        if analysis.outcome == "opt_out":
            quote = next((f.quote for f in analysis.facts if f.supported), "")
            reason = f"asked on call {call['id']}: {quote}"[:500]
            if await s.dnd.blocking_list(call["phone"]) != "user":
                await s.dnd.add(call["phone"], reason=reason, source="call")
                await s.audit.record(
                    AuditAction.DNC_ADDED,
                    call["phone"],
                    AuditDetail(reason=reason, source="call"),
                    at=ctx.now(),
                    actor="post-call analyzer",  # the callee asked; no owner decided
                )
    return {
        "status": "done" if final else "awaiting_review",
        "next_step": analysis.next_step.model_dump(mode="json"),
    }


def route_after_record(state: AnalyzerState) -> Literal["request_review", "apply_step", "__end__"]:
    if state.get("status") != "done":
        return "request_review"
    # After a review the runner has long moved on: the graph applies the owner's next step.
    return "apply_step" if state.get("answer") else "__end__"


def _description(
    ctx: GraphContext, call: dict[str, Any], analysis: CallAnalysis, note: str | None
) -> str:
    facts = [
        f"{f.name}: {f.value} — \u201c{f.quote}\u201d"
        + ("" if f.supported else " (NOT in the transcript)")
        for f in analysis.facts
    ]
    step = analysis.next_step
    text = render_prompt(
        AGENT,
        "review",
        ctx.prompt_version,
        target_name=call["target_name"],
        phone=call["phone"],
        outcome=analysis.outcome,
        goal_achieved="yes" if analysis.goal_achieved else "no",
        confidence=f"{analysis.confidence:.2f}",
        summary=analysis.summary,
        reasons=_bullets(analysis.review_reasons),
        facts=_bullets(facts),
        next_step=f"{step.action}"
        + (f" at {step.at.isoformat()}" if step.at else "")
        + f" ({step.reason})",
    )
    return f"**{note}**\n\n{text}" if note else text


async def request_review(state: AnalyzerState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Write the review item for this round (once, however often this node runs)."""
    ctx = await context_of(runtime)
    call = state["call"]
    analysis = CallAnalysis.model_validate(state["analysis"])
    round_ = state.get("round", 1)
    note = state.get("note")
    async with ctx.get_db().scope(ctx.user_id) as s:
        feedback_id = await ensure_feedback(
            s,
            kind=FeedbackKind.ANALYSIS_REVIEW,
            thread_id=run_thread_id(),
            key=f"round-{round_}",
            question=f"Review the call to {call['target_name']}: "
            + "; ".join(analysis.review_reasons),
            payload={
                "analysis": state["analysis"],
                "description": _description(ctx, call, analysis, note),
                "note": note or "",
                "can_accept": _can_accept(analysis),
            },
            campaign_id=call["campaign_id"],
            task_id=call["task_id"],
            call_id=call["id"],
        )
        # The task waits for the owner from now on (nothing dials it meanwhile) — unless it
        # has ended, or is being called again already (a lease lost: its new holder's).
        task = await s.tasks.require(call["task_id"])
        if task.status not in (*ENDED, TaskStatus.ON_HOLD, TaskStatus.CLAIMED):
            await s.tasks.set_status(task.id, TaskStatus.ON_HOLD, last_outcome="awaiting_review")
    return {"feedback_id": feedback_id, "round": round_}


def _can_accept(analysis: CallAnalysis) -> bool:
    """Whether the analysis' own next step can stand (it cannot when it asks the owner)."""
    return analysis.next_step.action != "ask_owner"


async def await_review(state: AnalyzerState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Interrupt until the owner accepts, edits, comments on, or dismisses the analysis."""
    ctx = await context_of(runtime)
    analysis = CallAnalysis.model_validate(state["analysis"])
    feedback_id = state.get("feedback_id")
    assert feedback_id is not None
    answer = ask_owner(
        human_interrupt(
            action="review_call_analysis",
            args=state["analysis"],
            description=_description(ctx, state["call"], analysis, state.get("note")),
            feedback_id=feedback_id,
            allow_accept=_can_accept(analysis),
        )
    )
    return {"answer": dict(answer)}


def _edited(analysis: CallAnalysis, args: dict[str, Any]) -> CallAnalysis:
    data = analysis.model_dump(mode="json")
    step = args.get("next_step")
    if isinstance(step, str):
        args = {
            **args,
            "next_step": {"action": step, "at": args.get("at"), "reason": "set by the owner"},
        }
    allowed = ("outcome", "goal_achieved", "summary", "next_step", "callback_at")
    data.update({k: v for k, v in args.items() if k in allowed})
    return CallAnalysis.model_validate(data)


def _callee(ctx: GraphContext, call: dict[str, Any]) -> Callee:
    return Callee(
        zones=call["zones"],
        window=_window(ctx, call),
        now=ctx.now(),
        region=ctx.get_settings().default_region,
    )


def _field_edit(
    ctx: GraphContext, call: dict[str, Any], analysis: CallAnalysis, args: dict[str, Any]
) -> CallAnalysis:
    """The analysis with the owner's edited fields; raises `ValidationError`."""
    edited = _edited(analysis, args)
    update: dict[str, Any] = {"confidence": 1.0}
    if "next_step" not in args:
        update["next_step"] = decide_next_step(
            edited.outcome,
            goal_achieved=edited.goal_achieved,
            callback_at=edited.callback_at,
            proposed=None,
            stop_rule=StopRule(call["stop_rule"]),
            attempts=call["attempts"],
            max_attempts=call["max_attempts"],
            now=ctx.now(),
            zones=call["zones"],
            window=_window(ctx, call),
        )
    return edited.model_copy(update=update)


async def apply_verdict(state: AnalyzerState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """The owner's answer becomes the final analysis and its next step; an answer that cannot
    be read, an invalid edit, or one that leaves the decision to the owner is asked again."""
    ctx = await context_of(runtime)
    analysis = CallAnalysis.model_validate(state["analysis"])
    call = state["call"]
    answer = state.get("answer") or {}
    again = state.get("round", 1) + 1
    read = read_answer(answer, _callee(ctx, call), can_accept=_can_accept(analysis))
    phone = None
    if isinstance(read, Unread):
        return {"round": again, "note": "Not applied: " + read.problem}
    if read is None:
        try:
            final = _field_edit(ctx, call, analysis, dict(answer.get("args") or {}))
        except ValidationError as exc:
            note = "Your edit was not applied: " + "; ".join(validation_problems(exc))
            return {"round": again, "note": note}
    elif read.action == "accept":
        final = analysis
    else:
        step = NextStep(action=read.action, at=read.at, reason=read.reason)
        final = analysis.model_copy(update={"next_step": step})
        phone = read.phone
    if final.next_step.action == "ask_owner":
        return {"round": again, "note": "Not applied: say what happens next (" + EXAMPLES + ")."}
    update: dict[str, Any] = {"reviewed_by_owner": True}
    if isinstance(answer.get("args"), str):
        update["owner_note"] = answer["args"]
    final = final.model_copy(update=update)
    return {"analysis": final.model_dump(mode="json"), "note": None, "phone": phone}


async def apply_step(state: AnalyzerState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Move the task on with the reviewed next step (the runner's `apply_next_step`)."""
    ctx = await context_of(runtime)
    analysis = CallAnalysis.model_validate(state["analysis"])
    call = state["call"]
    step = analysis.next_step
    task = await apply_next_step(
        ctx.get_db(),
        ctx.user_id,
        call["task_id"],
        outcome=analysis.outcome,
        action=step.action,
        at=step.at,
        reason=step.reason,
        goal_achieved=analysis.goal_achieved,
        now=ctx.now(),
        phone=state.get("phone"),
    )
    return {"applied": describe_task(task, call["zones"][0])}


def route_after_verdict(state: AnalyzerState) -> Literal["record", "request_review"]:
    return "request_review" if state.get("note") else "record"


builder = StateGraph(
    AnalyzerState,
    context_schema=GraphContext,
    input_schema=AnalyzerInput,
    output_schema=AnalyzerResult,
)
builder.add_node("load", load)
builder.add_node("analyze", analyze)
builder.add_node("record", record)
builder.add_node("request_review", request_review)
builder.add_node("await_review", await_review)
builder.add_node("apply_verdict", apply_verdict)
builder.add_node("apply_step", apply_step)
builder.add_edge(START, "load")
builder.add_conditional_edges("load", route_after_load)
builder.add_edge("analyze", "record")
builder.add_conditional_edges("record", route_after_record)
builder.add_edge("request_review", "await_review")
builder.add_edge("await_review", "apply_verdict")
builder.add_conditional_edges("apply_verdict", route_after_verdict)
builder.add_edge("apply_step", END)

graph = builder.compile(name="post_call_analyzer")
