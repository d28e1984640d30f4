"""The owner's loops closed on the real development PBX, dispatcher and attempt runner.

A call asks the owner a question and the callee hangs up first: the question is closed at
hang-up and leaves the inbox; the task shows `analyzing` while the analyzer reads the call; the
analyzer doubts, so the owner reviews it; the late answer to the question is kept and the next
call's agent is told it; the owner's "call them again now" makes the next call happen; "done"
ends the task and the campaign completes.

Real parts: Asterisk with its simulated receptionist, AMI, AudioSocket, the bridge, the
dispatcher and runner, the graphs, the database (SQLite and PostgreSQL). Stand-ins: the
Realtime-protocol server and a scripted analyzer model.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage

from agents.call_agent.rehearsal import script_selector
from agents.schemas import CampaignPlan, Target
from agents.scripted import ScriptedChatModel
from app.attempt_runner import CALL_ENDED, AttemptOutcome
from app.node import Node, PartsWanted
from app.rehearsal import node_settings
from core.db import Database
from core.db.models import CampaignStatus, FeedbackKind, FeedbackStatus, StopRule, TaskStatus
from core.services import (
    Reply,
    ReviewAction,
    ReviewDecision,
    answer_item,
    inbox,
)
from core.settings import Settings
from media.realtime_server import CallTool, RealtimeTestServer, Say, Script, ScriptedResponse
from media.realtime_server.responses import SimOptions
from tests.integration.test_end_to_end import QUICK, Harness, start_calling
from tests.kit import make_user, until
from ui.wiring import GraphResumer

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

TARGET = "Holding Dental"
QUESTION = "They offer Tuesday at nine. Shall I book it?"
LATE = "Yes, book Tuesday at nine."

# The agent greets, then asks the owner and waits: the receptionist hangs up meanwhile.
ASKS = Script(
    name="asks the owner",
    responses=[
        ScriptedResponse(outputs=[Say(text="Hi, this is an AI assistant calling for Alex.")]),
        ScriptedResponse(
            outputs=[
                Say(text="One moment please, let me check."),
                CallTool(name="request_user_feedback", arguments={"question": QUESTION}),
            ]
        ),
    ],
    caller_transcripts=["Hello?", "Doctor Smith's dental office, how can I help you?"],
)


class Analyzer:
    """A scripted analyzer (handed to the node) that doubts every call, and holds each
    reading until the test lets it go (so the task is seen `analyzing`)."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.readings = 0

    def respond(self, messages: Sequence[BaseMessage]) -> AIMessage:
        self.readings += 1
        assert self.go.wait(120), "the test never let the analysis go"
        args = {
            "outcome": "partial",
            "goal_achieved": False,
            "summary": "The receptionist answered; the agent asked the owner and she hung up.",
            "facts": [],
            "proposed_next_step": "ask_owner",
            "owner_question": "She hung up while you were asked: what now?",
            "confidence": 0.4,
        }
        return AIMessage(
            content="", tool_calls=[{"name": "AnalyzerOutput", "args": args, "id": "doubt"}]
        )


@dataclass
class Loops:
    h: Harness
    analyzer: Analyzer
    sim: RealtimeTestServer


@pytest.fixture
async def loops(db: Database, pbx_settings: Settings) -> AsyncIterator[Loops]:
    analyzer = Analyzer()
    async with RealtimeTestServer(
        Script(responses=[]),
        options=SimOptions(realtime_factor=2.0),
        select_script=script_selector({TARGET: ASKS}),
    ) as sim:
        settings = node_settings(pbx_settings, sim.url).model_copy(
            update={
                "database_url": db.url,
                "max_concurrent_calls": 1,
                "feedback_timeout_s": 240.0,  # the callee hangs up long before
            }
        )
        outcomes: list[AttemptOutcome] = []
        node = Node(
            settings,
            db,
            PartsWanted(ui=False),
            retry=QUICK,
            ring_timeout_s=6,
            on_outcome=outcomes.append,
            safety_interval_s=0.5,
            lifecycle_interval_s=3600,
            models={
                "analyzer": ScriptedChatModel(
                    script="owner-loops", purpose="analyzer", responder=analyzer.respond
                )
            },
        )
        user_id = await make_user(db, "owner", display_name="Alex Morgan")
        try:
            await node.start("graphs")
            yield Loops(Harness(node, db, user_id, outcomes), analyzer, sim)
        finally:
            analyzer.go.set()
            await node.stop()


async def test_question_review_late_answer_and_the_next_call(loops: Loops) -> None:
    h, analyzer = loops.h, loops.analyzer
    plan = CampaignPlan(
        name="Holding",
        objective="Book a dental cleaning next week.",
        targets=[Target(name=TARGET, phone="+12125550101")],
        stop_rule=StopRule.CALL_EVERYONE,
        max_attempts=3,
    )
    campaign_id = await h.approve(plan, "holding")
    [task] = (await h.tasks(campaign_id)).values()
    task_id = task.id  # type: ignore[attr-defined]
    resumer = GraphResumer(lambda: h.node.graphs.runner)
    await start_calling(h)

    async def question() -> Any:
        async with h.db.scope(h.user_id) as s:
            items = await s.feedback.list_for_campaign(campaign_id, FeedbackKind.LIVE_QUESTION)
        return items[0] if items else None

    asked = await until(question, 90, "the live question", step=0.3)
    assert asked.question == QUESTION and asked.status is FeedbackStatus.PENDING

    async def status() -> TaskStatus:
        async with h.db.scope(h.user_id) as s:
            return (await s.tasks.require(task_id)).status

    # The callee hangs up; the analyzer holds its reading: the task shows it.
    await until(lambda: _is(status, TaskStatus.ANALYZING), 120, "the task to be analysed", step=0.3)
    async with h.db.scope(h.user_id) as s:
        closed = await s.feedback.require(asked.id)
    assert closed.status is FeedbackStatus.CLOSED
    assert closed.payload["closed_reason"] == CALL_ENDED
    assert all(i.kind is not FeedbackKind.LIVE_QUESTION for i in await inbox(h.db, h.user_id))

    # The owner answers the question anyway: kept for the next call.
    late = await answer_item(h.db, h.user_id, asked.id, Reply(LATE), resumer=resumer)
    assert "did not hear it" in late.message and "next call to Holding Dental" in late.message

    analyzer.go.set()
    await until(lambda: _is(status, TaskStatus.ON_HOLD), 60, "the review", step=0.3)
    [review] = [i for i in await inbox(h.db, h.user_id) if i.kind is FeedbackKind.ANALYSIS_REVIEW]
    assert not review.can_accept  # the analyzer leaves the decision to the owner
    answered = await answer_item(
        h.db, h.user_id, review.id, Reply("call them again now"), resumer=resumer
    )
    assert answered.message.startswith("Holding Dental will be called at")
    assert await status() in (TaskStatus.PENDING, TaskStatus.CLAIMED)  # off hold at once

    async def second_call() -> bool:
        return len(await h.calls_of(task_id)) == 2

    await until(second_call, 60, "the next call", step=0.3)
    await until(lambda: _is(status, TaskStatus.ON_HOLD), 180, "the second review", step=0.3)
    sessions = [c.session for c in loops.sim.conversations]
    assert LATE not in str(sessions[0].get("instructions"))
    assert LATE in str(sessions[-1].get("instructions"))  # the next call's agent knows it

    [review] = [i for i in await inbox(h.db, h.user_id) if i.kind is FeedbackKind.ANALYSIS_REVIEW]
    done = await answer_item(
        h.db, h.user_id, review.id, ReviewDecision(ReviewAction.DONE), resumer=resumer
    )
    assert done.message == "Holding Dental is done."
    async with h.db.scope(h.user_id) as s:
        assert (await s.tasks.require(task_id)).status is TaskStatus.COMPLETED
        campaign = await s.campaigns.require(campaign_id)
    assert campaign.status is CampaignStatus.COMPLETED and campaign.summary
    assert analyzer.readings == 2


async def _is(read: Any, expected: TaskStatus) -> bool:
    return bool(await read() is expected)
