"""Human-in-the-loop plumbing shared by the graphs: inbox requests and the owner's answers.

A graph's threads are the owner's alone (`graphs.threads`). A graph that needs the owner first
writes a `feedback_requests` row (in a node of its own, idempotently) and then interrupts in the
agent-inbox style:
`interrupt({action_request, config: {allow_*}, description, feedback_id})`, resumed with
`{type: accept|edit|response|ignore, args}`. `answer_feedback` records the owner's answer on the
row and resumes the thread with `Command(resume=answer)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from langchain_core.runnables import RunnableConfig
from langgraph.pregel import Pregel
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

from core.db import Database, UserScope
from core.domain import FeedbackKind, FeedbackPayload, FeedbackStatus, HitlMark
from core.services.audit import record_answer
from graphs.context import GraphContext
from graphs.threads import ThreadAccessDenied, check_thread_owner

ResponseType = Literal["accept", "edit", "response", "ignore"]

# Which graph acts on the answer to which kind of item. The orchestrator and the analyzer are
# interrupted on theirs and resumed; the lifecycle manager waits on nothing: its pass, run at
# once, reads the answers to check-ins and to reviews no analyzer thread waits on (asked when
# the analyzer itself failed). Live questions are answered on their row (the call polls it).
LIFECYCLE = "lifecycle_manager"
GRAPH_FOR_KIND: dict[FeedbackKind, str] = {
    FeedbackKind.PLAN_APPROVAL: "orchestrator",
    FeedbackKind.ANALYSIS_REVIEW: "post_call_analyzer",
    FeedbackKind.CHECK_IN: LIFECYCLE,
}
READ_BY_PASS = frozenset({FeedbackKind.CHECK_IN, FeedbackKind.ANALYSIS_REVIEW})


CompiledGraph = Pregel[Any, GraphContext, Any, Any]


class BadAnswer(ValueError):
    """The owner's answer does not fit the request; the message says what is allowed."""


class FeedbackNotAwaited(LookupError):
    """No graph is waiting for this item (already answered, closed, or never asked)."""


class InterruptConfig(TypedDict):
    allow_accept: bool
    allow_edit: bool
    allow_respond: bool
    allow_ignore: bool


class ActionRequest(TypedDict):
    action: str
    args: dict[str, Any]


class HumanInterrupt(TypedDict):
    action_request: ActionRequest
    config: InterruptConfig
    description: str
    feedback_id: int


class HumanResponse(TypedDict):
    type: ResponseType
    args: Any


def human_interrupt(
    *,
    action: str,
    args: dict[str, Any],
    description: str,
    feedback_id: int,
    allow_accept: bool = True,
    allow_edit: bool = True,
    allow_respond: bool = True,
    allow_ignore: bool = True,
) -> HumanInterrupt:
    return HumanInterrupt(
        action_request=ActionRequest(action=action, args=args),
        config=InterruptConfig(
            allow_accept=allow_accept,
            allow_edit=allow_edit,
            allow_respond=allow_respond,
            allow_ignore=allow_ignore,
        ),
        description=description,
        feedback_id=feedback_id,
    )


_ALLOW_KEY: dict[str, str] = {
    "accept": "allow_accept",
    "edit": "allow_edit",
    "response": "allow_respond",
    "ignore": "allow_ignore",
}


def from_inbox_form(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """The Approvals tab's answers (`core.services.feedback`) in agent-inbox form.

    `{decision: approve}` → accept; `{decision: edit, changes}` → edit with the requested
    changes as text; `{decision: reject, reason}` → response (with a reason) or ignore;
    `{text}` → response.
    """
    if "type" in value:
        return value
    decision = value.get("decision")
    if decision == "approve":
        return {"type": "accept", "args": None}
    if decision == "edit":
        return {"type": "edit", "args": value.get("changes")}
    if decision == "reject":
        reason = str(value.get("reason") or "").strip()
        return {"type": "response", "args": reason} if reason else {"type": "ignore", "args": None}
    if isinstance(value.get("text"), str):
        return {"type": "response", "args": value["text"]}
    return value


def parse_response(value: Any, config: Mapping[str, Any]) -> HumanResponse:
    """Check an answer against what the request allows.

    An edit carries either the edited fields (an object, or an agent-inbox ActionRequest) or,
    from the Approvals tab, the requested changes as text.
    """
    if isinstance(value, list) and len(value) == 1:
        value = value[0]  # agent-inbox sends a list of one response
    if isinstance(value, Mapping):
        value = from_inbox_form(value)
    if not isinstance(value, Mapping) or value.get("type") not in _ALLOW_KEY:
        raise BadAnswer("an answer is {type: accept|edit|response|ignore, args}")
    kind = cast(ResponseType, value["type"])
    if not config.get(_ALLOW_KEY[kind], False):
        allowed = [k for k, flag in _ALLOW_KEY.items() if config.get(flag)]
        raise BadAnswer(f"{kind!r} is not allowed here (allowed: {', '.join(allowed)})")
    args = value.get("args")
    if kind == "edit":
        if isinstance(args, Mapping) and isinstance(args.get("args"), Mapping):
            args = args["args"]  # an agent-inbox ActionRequest {action, args}
        if isinstance(args, str) and args.strip():
            args = args.strip()
        elif isinstance(args, Mapping):
            args = dict(args)
        else:
            raise BadAnswer("an edit needs the edited fields (an object) or the changes (text)")
    elif kind == "response":
        if not isinstance(args, str) or not args.strip():
            raise BadAnswer("a response needs its text in args")
    else:
        args = None
    return HumanResponse(type=kind, args=args)


def ask_owner(request: HumanInterrupt) -> HumanResponse:
    """Interrupt with the request; returns the checked answer once the thread is resumed."""
    return parse_response(interrupt(dict(request)), request["config"])


async def ensure_feedback(
    s: UserScope,
    *,
    kind: FeedbackKind,
    thread_id: str | None,
    key: str,
    question: str,
    payload: dict[str, Any],
    campaign_id: int | None = None,
    task_id: int | None = None,
    call_id: int | None = None,
) -> int:
    """The id of the pending item with this thread and key, created if there is none.

    Makes the write before an interrupt idempotent: a node that re-runs finds its own row.
    """
    for item in await s.feedback.list_pending(kind):
        if item.thread_id == thread_id and FeedbackPayload.read(item.payload).hitl.key == key:
            return item.id
    item = await s.feedback.create(
        kind=kind,
        question=question,
        payload={**payload, "hitl": HitlMark(key=key).to_json()},
        campaign_id=campaign_id,
        task_id=task_id,
        call_id=call_id,
        thread_id=thread_id,
    )
    return item.id


@dataclass(frozen=True, slots=True)
class Resumed:
    """What answering an item did: the graph's output, and the next item it waits on, if any."""

    feedback_id: int
    graph: str | None
    values: dict[str, Any]
    waiting_on: int | None = None


def waiting_feedback_id(values: Mapping[str, Any]) -> int | None:
    """The feedback id of the interrupt a run stopped at, if it stopped at one."""
    for item in values.get("__interrupt__") or ():
        value = getattr(item, "value", None)
        if isinstance(value, Mapping) and isinstance(value.get("feedback_id"), int):
            return int(value["feedback_id"])
    return None


async def _waiting_request(
    graph: CompiledGraph, thread_id: str, feedback_id: int
) -> HumanInterrupt:
    state = await graph.aget_state(RunnableConfig(configurable={"thread_id": thread_id}))
    for item in state.interrupts:
        value = item.value
        if isinstance(value, Mapping) and value.get("feedback_id") == feedback_id:
            return cast(HumanInterrupt, value)
    raise FeedbackNotAwaited(f"nothing is waiting for an answer to item {feedback_id}")


async def answer_feedback(
    db: Database,
    graphs: Mapping[str, CompiledGraph],
    *,
    user_id: int,
    feedback_id: int,
    answer: Mapping[str, Any],
    context: GraphContext,
    resume_answered: bool = False,
) -> Resumed:
    """Record the owner's answer to one of their items and resume the graph waiting on it.

    Another user's item is `NotFound`; an answer the request does not allow is `BadAnswer`; an
    item already answered raises `FeedbackNotAwaited` — unless `resume_answered` is set, which
    resumes a thread still waiting on an answer recorded before a crash, with that answer.
    A check-in (or a review no thread waits on) is acted on by a lifecycle pass run at once; a
    review that ended its campaign's last open task has the campaign closed by one too.
    """
    if context.user_id != user_id:
        raise ThreadAccessDenied("the run context belongs to another user")
    async with db.scope(user_id) as s:
        item = await s.feedback.require(feedback_id)
    graph_name = GRAPH_FOR_KIND.get(item.kind)
    if graph_name is None or item.thread_id is None:
        recorded = resume_answered and item.status is FeedbackStatus.ANSWERED
        if not recorded:
            async with db.scope(user_id) as s:
                if not await s.feedback.answer(feedback_id, dict(answer)):
                    raise FeedbackNotAwaited(f"item {feedback_id} is {item.status}, not pending")
                await record_answer(s, item, answer, at=context.now())
        if item.kind not in READ_BY_PASS or LIFECYCLE not in graphs:
            return Resumed(feedback_id, None, {})
        return Resumed(feedback_id, LIFECYCLE, await _lifecycle_pass(graphs, context))
    check_thread_owner(item.thread_id, user_id, installation_id=context.installation_id)
    graph = graphs[graph_name]
    request = await _waiting_request(graph, item.thread_id, feedback_id)
    if resume_answered and item.status is FeedbackStatus.ANSWERED and item.answer is not None:
        response = parse_response(item.answer, request["config"])
    else:
        response = parse_response(answer, request["config"])
        async with db.scope(user_id) as s:
            if not await s.feedback.answer(feedback_id, dict(response)):
                raise FeedbackNotAwaited(f"item {feedback_id} was answered or closed already")
            await record_answer(s, item, response, at=context.now())
    values = await graph.ainvoke(
        Command(resume=response),
        RunnableConfig(configurable={"thread_id": item.thread_id}),
        context=context,
    )
    values = dict(values) if isinstance(values, Mapping) else {}
    waiting = waiting_feedback_id(values)
    if waiting is None and item.kind is FeedbackKind.ANALYSIS_REVIEW and item.campaign_id:
        await _close_if_done(db, graphs, context, item.campaign_id)
    return Resumed(feedback_id, graph_name, values, waiting)


async def _lifecycle_pass(
    graphs: Mapping[str, CompiledGraph], context: GraphContext
) -> dict[str, Any]:
    out = await graphs[LIFECYCLE].ainvoke({}, context=context)
    return dict(out) if isinstance(out, Mapping) else {}


async def _close_if_done(
    db: Database, graphs: Mapping[str, CompiledGraph], context: GraphContext, campaign_id: int
) -> None:
    """When the answer ended the campaign's last open task, let the lifecycle manager close
    the campaign now (with its summary), as the attempt runner does after a call."""
    async with db.scope(context.user_id) as s:
        ended, total = await s.campaigns.progress(campaign_id)
    if total and ended == total and LIFECYCLE in graphs:
        await _lifecycle_pass(graphs, context)
