"""The graphs as the rest of OpenDeep calls them (UI, scheduler, media bridge).

    async with GraphRunner.open(db, settings) as runner:
        turn = await runner.chat(user_id, conversation_id, "call these dentists …")
        started = await runner.start_orchestration(user_id, turn.plan)      # → approval item
        await runner.answer_feedback(user_id, started.feedback_id, {"type": "accept"})
        result = await runner.analyze_call(user_id, call_id)               # after each call
        report = await runner.lifecycle_pass(user_id)                      # periodically

Every method takes the acting user's id, derives the thread id from it and the database's
installation id (read once, when the runner opens), and refuses threads of other users and of
other databases. Checkpoints go to the checkpointer opened from the settings
(`graphs.checkpoint`): the database's own.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import StateSnapshot

from agents.schemas import CallAnalysis, CampaignPlan, NextStep
from core.db import Database
from core.settings import Settings
from graphs import lifecycle_manager, orchestrator, post_call_analyzer, ui_assistant
from graphs.checkpoint import open_checkpointer
from graphs.context import GraphContext
from graphs.hitl import CompiledGraph, Resumed, answer_feedback, waiting_feedback_id
from graphs.threads import (
    ThreadAccessDenied,
    ThreadKind,
    check_thread_owner,
    parse_thread_id,
    thread_config,
    thread_id_for,
)

RECURSION_LIMIT = 100  # a backstop: no OpenDeep run needs more than a few dozen steps
_GRAPH_OF_THREAD = {"chat": "ui_assistant", "plan": "orchestrator", "call": "post_call_analyzer"}


@dataclass(frozen=True, slots=True)
class ChatTurn:
    thread_id: str
    reply: str
    plan: CampaignPlan | None = None


@dataclass(frozen=True, slots=True)
class Orchestration:
    thread_id: str
    status: str
    feedback_id: int | None = None
    campaign_id: int | None = None
    task_ids: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Analysis:
    thread_id: str
    status: str  # done | awaiting_review
    analysis: CallAnalysis | None
    next_step: NextStep | None
    feedback_id: int | None = None


class GraphRunner:
    """The four graphs compiled with one checkpointer, run on behalf of one user at a time.

    `installation_id` is the database's (`SystemOps.installation_id`); `open` reads it.
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        checkpointer: BaseCheckpointSaver[str] | None,
        *,
        installation_id: uuid.UUID,
        clock: Callable[[], dt.datetime] | None = None,
        models: Mapping[str, BaseChatModel] | None = None,
        review_threshold: float = 0.6,
        check_in_after_hours: float = 48.0,
        prompt_version: str = "v1",
    ) -> None:
        self.db = db
        self.settings = settings
        self.installation_id = installation_id
        self._clock = clock
        self._models = models
        self._review_threshold = review_threshold
        self._check_in_after_hours = check_in_after_hours
        self._prompt_version = prompt_version
        self.graphs: dict[str, CompiledGraph] = {
            "ui_assistant": ui_assistant.builder.compile(checkpointer, name="ui_assistant"),
            "orchestrator": orchestrator.builder.compile(checkpointer, name="orchestrator"),
            "post_call_analyzer": post_call_analyzer.builder.compile(
                checkpointer, name="post_call_analyzer"
            ),
            # A pass keeps nothing between runs (the database is the truth): no checkpoints.
            "lifecycle_manager": lifecycle_manager.builder.compile(name="lifecycle_manager"),
        }

    @classmethod
    @asynccontextmanager
    async def open(
        cls, db: Database, settings: Settings, **kwargs: Any
    ) -> AsyncIterator[GraphRunner]:
        """A runner with the checkpointer for these settings, open for the block."""
        async with db.system() as system:
            installation_id = await system.installation_id()
        async with open_checkpointer(settings) as checkpointer:
            yield cls(db, settings, checkpointer, installation_id=installation_id, **kwargs)

    def context(self, user_id: int) -> GraphContext:
        return GraphContext(
            user_id=user_id,
            settings=self.settings,
            db=self.db,
            clock=self._clock,
            models=self._models,
            prompt_version=self._prompt_version,
            review_threshold=self._review_threshold,
            check_in_after_hours=self._check_in_after_hours,
            installation_id=self.installation_id,
        )

    def thread_id(self, user_id: int, kind: ThreadKind, object_id: int | str) -> str:
        """The id of the user's thread about one object, on this runner's database."""
        return thread_id_for(self.installation_id, user_id, kind, object_id)

    def thread_config(self, user_id: int, thread_id: str) -> RunnableConfig:
        """The run config of a thread, if it is the user's on this runner's database."""
        return thread_config(user_id, thread_id, installation_id=self.installation_id)

    def chat_thread_id(self, user_id: int, conversation: str) -> str:
        """The user's chat thread for a conversation, on this runner's database.

        `conversation` is a conversation id, the UI's name for one (`user:<id>:chat:<token>`,
        as `core.services.assistant.new_chat_thread` makes them: the thread id without its
        installation), or a whole chat thread id; another user's is refused.
        """
        ref = parse_thread_id(conversation)
        if ref is None or ref.kind != "chat":
            return self.thread_id(user_id, "chat", conversation)
        if ref.installation_id is None:  # the UI's name for it
            if ref.user_id != user_id:
                raise ThreadAccessDenied(f"{conversation!r} does not belong to user {user_id}")
            return self.thread_id(user_id, "chat", ref.object_id)
        check_thread_owner(conversation, user_id, installation_id=self.installation_id)
        return conversation

    async def _run(self, name: str, user_id: int, thread_id: str, value: Any) -> dict[str, Any]:
        config = self.thread_config(user_id, thread_id)
        config["recursion_limit"] = RECURSION_LIMIT
        out = await self.graphs[name].ainvoke(value, config, context=self.context(user_id))
        return dict(out) if isinstance(out, Mapping) else {}

    async def thread_state(self, user_id: int, thread_id: str) -> StateSnapshot:
        """A thread's state in the graph that runs on it, only if the thread is the user's."""
        config = self.thread_config(user_id, thread_id)
        ref = parse_thread_id(thread_id)
        name = _GRAPH_OF_THREAD.get(ref.kind) if ref else None
        if name is None:
            raise ValueError(f"no checkpointed graph runs on {thread_id!r}")
        return await self.graphs[name].aget_state(config)

    async def chat(self, user_id: int, conversation: str, text: str) -> ChatTurn:
        """One user turn of the planning chat; `plan` is set when this turn produced one.

        `conversation` is anything `chat_thread_id` takes.
        """
        thread_id = self.chat_thread_id(user_id, conversation)
        out = await self._run(
            "ui_assistant", user_id, thread_id, {"messages": [HumanMessage(content=text)]}
        )
        last = next(
            (m for m in reversed(out.get("messages", [])) if isinstance(m, AIMessage)), None
        )
        plan = out.get("plan")
        return ChatTurn(
            thread_id=thread_id,
            reply=last.text if last else "",
            plan=CampaignPlan.model_validate(plan) if plan else None,
        )

    async def start_orchestration(
        self, user_id: int, plan: CampaignPlan | Mapping[str, Any], *, plan_id: str | None = None
    ) -> Orchestration:
        """Check a plan and ask the owner to approve it (idempotent per `plan_id`)."""
        thread_id = self.thread_id(user_id, "plan", plan_id or uuid.uuid4().hex)
        state = await self.thread_state(user_id, thread_id)
        if state.values:  # started before: report where it stands, do nothing twice
            out = dict(state.values)
            if state.interrupts:
                out["__interrupt__"] = state.interrupts
        else:
            data = plan.model_dump(mode="json") if isinstance(plan, CampaignPlan) else dict(plan)
            out = await self._run("orchestrator", user_id, thread_id, {"plan": data})
        return self._orchestration(thread_id, out)

    @staticmethod
    def _orchestration(thread_id: str, out: Mapping[str, Any]) -> Orchestration:
        return Orchestration(
            thread_id=thread_id,
            status=str(out.get("status", "")),
            feedback_id=waiting_feedback_id(out),
            campaign_id=out.get("campaign_id"),
            task_ids=list(out.get("task_ids") or []),
            problems=list(out.get("problems") or []),
        )

    async def analyze_call(self, user_id: int, call_id: int) -> Analysis:
        """Analyse a finished call; returns the next step, or the review item it waits on."""
        thread_id = self.thread_id(user_id, "call", call_id)
        state = await self.thread_state(user_id, thread_id)
        if state.interrupts:
            out = {**state.values, "__interrupt__": state.interrupts}
        else:
            out = await self._run("post_call_analyzer", user_id, thread_id, {"call_id": call_id})
        return self._analysis(thread_id, out)

    @staticmethod
    def _analysis(thread_id: str, out: Mapping[str, Any]) -> Analysis:
        analysis = out.get("analysis")
        step = out.get("next_step")
        return Analysis(
            thread_id=thread_id,
            status=str(out.get("status", "")),
            analysis=CallAnalysis.model_validate(analysis) if analysis else None,
            next_step=NextStep.model_validate(step) if step else None,
            feedback_id=waiting_feedback_id(out),
        )

    async def lifecycle_pass(self, user_id: int) -> dict[str, Any]:
        """One observe–orient–decide–act pass over the user's campaigns; returns its report."""
        out = await self.graphs["lifecycle_manager"].ainvoke({}, context=self.context(user_id))
        return dict(out) if isinstance(out, Mapping) else {}

    async def answer_feedback(
        self, user_id: int, feedback_id: int, answer: Mapping[str, Any]
    ) -> Resumed:
        """Record the owner's answer and resume the graph waiting on it."""
        return await answer_feedback(
            self.db,
            self.graphs,
            user_id=user_id,
            feedback_id=feedback_id,
            answer=answer,
            context=self.context(user_id),
        )

    async def resume_answered(self, user_id: int, feedback_id: int) -> Resumed:
        """Resume a thread still waiting on an answer recorded before a crash."""
        return await answer_feedback(
            self.db,
            self.graphs,
            user_id=user_id,
            feedback_id=feedback_id,
            answer={},
            context=self.context(user_id),
            resume_answered=True,
        )
