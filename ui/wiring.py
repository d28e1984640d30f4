"""The graphs behind the UI's assistant interface (`core.services.ChatAssistant`, `HitlResumer`).

`graph_services(graphs_part)` gives the pair `UiPart` takes; the runner is looked up on each
call, so the UI can be built before the graphs part has started.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from agents import is_rehearsal, load_chat_model
from core.db import NotFound
from core.logging import get_logger
from core.services import (
    AssistantPlan,
    AssistantText,
    ChatAssistant,
    ChatEvent,
    HitlResumer,
    PlanView,
    ServiceError,
    check_chat_thread,
    plan_view,
)
from core.settings import Settings
from graphs.hitl import BadAnswer, FeedbackNotAwaited, Resumed
from graphs.service_part import GraphsNotStarted
from graphs.threads import ThreadAccessDenied

if TYPE_CHECKING:
    from graphs.runner import GraphRunner
    from graphs.service_part import GraphsPart

log = get_logger("opendeep.ui.wiring")
RunnerGetter = Callable[[], "GraphRunner"]
REHEARSAL_NOTICE = (
    "Rehearsal: no model provider is configured, so the assistant's answers are scripted. "
    "Give it names and numbers (e.g. Smile Dental +1 212 555 0101) to rehearse the whole "
    "flow; set OPENAI_API_KEY or OPENAI_BASE_URL for a real assistant."
)


def _runner(get: RunnerGetter) -> GraphRunner:
    try:
        return get()
    except GraphsNotStarted:
        raise ServiceError(
            "the assistant is not running right now; try again in a moment"
        ) from None


class GraphAssistant:
    """The `ui_assistant` graph, streamed turn by turn; plans go to the `orchestrator`."""

    configured = True

    def __init__(self, runner: RunnerGetter, settings: Settings) -> None:
        self._get = runner
        model = load_chat_model(settings.assistant_model, settings, purpose="assistant")
        self.notice = REHEARSAL_NOTICE if is_rehearsal(model) else ""

    async def chat_turn(self, user_id: int, thread: str, message: str) -> AsyncIterator[ChatEvent]:
        runner = _runner(self._get)
        check_chat_thread(user_id, thread)
        graph = runner.graphs["ui_assistant"]
        streamed: set[str] = set()
        last_id: str | None = None
        final: dict[str, Any] = {}
        async for mode, chunk in graph.astream(
            {"messages": [HumanMessage(content=message)]},
            runner.thread_config(user_id, runner.chat_thread_id(user_id, thread)),
            context=runner.context(user_id),
            stream_mode=["messages", "values"],
        ):
            if mode == "values" and isinstance(chunk, dict):
                final = chunk
                continue
            if mode != "messages":
                continue
            msg = chunk[0]
            if not isinstance(msg, AIMessage | AIMessageChunk) or not msg.text:
                continue
            if not isinstance(msg, AIMessageChunk) and msg.id in streamed:
                continue  # the whole message after its streamed pieces
            if last_id is not None and msg.id != last_id:
                yield AssistantText("\n\n")
            last_id = msg.id
            if msg.id:
                streamed.add(msg.id)
            yield AssistantText(msg.text)
        plan = plan_view(final.get("plan")) if isinstance(final.get("plan"), dict) else None
        if plan is not None:
            yield AssistantPlan(plan)

    async def submit_plan(self, user_id: int, thread: str, plan: PlanView) -> int:
        runner = _runner(self._get)
        check_chat_thread(user_id, thread)
        # The same plan confirmed twice from one conversation starts one orchestration.
        digest = hashlib.sha256(
            (thread + json.dumps(dict(plan.raw), sort_keys=True, default=str)).encode()
        ).hexdigest()[:20]
        started = await runner.start_orchestration(user_id, dict(plan.raw), plan_id=digest)
        if started.feedback_id is None:
            problems = "; ".join(started.problems) or started.status.replace("_", " ")
            raise ServiceError(f"the plan was not accepted: {problems}")
        return started.feedback_id


class GraphResumer:
    """Records the owner's answer and resumes the graph waiting on it."""

    def __init__(self, runner: RunnerGetter) -> None:
        self._get = runner

    async def answer_feedback(
        self, user_id: int, feedback_id: int, answer: dict[str, Any]
    ) -> str | None:
        runner = _runner(self._get)
        try:
            resumed = await runner.answer_feedback(user_id, feedback_id, answer)
        except BadAnswer as exc:
            raise ServiceError(str(exc)) from None
        except FeedbackNotAwaited:
            raise ServiceError("nothing is waiting for this answer any more") from None
        except ThreadAccessDenied:
            raise NotFound("feedback request", feedback_id) from None
        log.info(
            "feedback answered",
            user_id=user_id,
            feedback_id=feedback_id,
            graph=resumed.graph,
            waiting_on=resumed.waiting_on,
        )
        return what_it_did(resumed)


def what_it_did(resumed: Resumed) -> str | None:
    """What answering did, for the owner: the task's next step, the campaign's new course, or
    why the answer was not applied (and the item asked again)."""
    values = resumed.values
    if resumed.waiting_on is not None and values.get("note"):
        return f"{values['note']} See item #{resumed.waiting_on}."
    if isinstance(values.get("applied"), str):
        return str(values["applied"])
    for done in values.get("answers") or ():
        if isinstance(done, dict) and done.get("feedback_id") == resumed.feedback_id:
            return str(done.get("applied") or "") or None
    return None


def graph_services(graphs: GraphsPart, settings: Settings) -> tuple[ChatAssistant, HitlResumer]:
    """The assistant and resumer over a `GraphsPart` (for `UiPart(assistant=…, resumer=…)`)."""

    def runner() -> GraphRunner:
        return graphs.runner

    return GraphAssistant(runner, settings), GraphResumer(runner)
