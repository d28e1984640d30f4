"""HITL plumbing: answers, and one user never reaching another user's threads."""

from __future__ import annotations

from typing import Any

import pytest

from core.db import Database, NotFound
from core.db.models import FeedbackStatus
from graphs import GraphRunner, ThreadAccessDenied
from graphs.hitl import BadAnswer, answer_feedback, parse_response
from tests.graphs.conftest import PLAN, seed_call

ALL = {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"type": "accept"}, {"type": "accept", "args": None}),
        ([{"type": "ignore", "args": {"x": 1}}], {"type": "ignore", "args": None}),
        (
            {"type": "edit", "args": {"action": "a", "args": {"name": "n"}}},
            {"type": "edit", "args": {"name": "n"}},
        ),
        ({"type": "edit", "args": {"name": "n"}}, {"type": "edit", "args": {"name": "n"}}),
        ({"type": "response", "args": "later"}, {"type": "response", "args": "later"}),
        ({"decision": "approve"}, {"type": "accept", "args": None}),
        ({"decision": "edit", "changes": " Fridays "}, {"type": "edit", "args": "Fridays"}),
        ({"decision": "reject", "reason": ""}, {"type": "ignore", "args": None}),
        ({"decision": "reject", "reason": "no"}, {"type": "response", "args": "no"}),
        ({"text": "yes, book it"}, {"type": "response", "args": "yes, book it"}),
    ],
)
def test_answers_are_read_in_agent_inbox_form(answer: Any, expected: dict[str, Any]) -> None:
    assert parse_response(answer, ALL) == expected


@pytest.mark.parametrize(
    ("answer", "config", "message"),
    [
        ("yes", ALL, "an answer is"),
        ({"type": "accept"}, {**ALL, "allow_accept": False}, "'accept' is not allowed here"),
        ({"type": "edit", "args": None}, ALL, "an edit needs"),
        ({"type": "response", "args": "  "}, ALL, "needs its text"),
    ],
)
def test_bad_answers(answer: Any, config: dict[str, bool], message: str) -> None:
    with pytest.raises(BadAnswer, match=message):
        parse_response(answer, config)


async def test_a_second_user_can_neither_see_nor_resume_the_first_users_threads(
    db: Database, runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    started = await runner.start_orchestration(alice, PLAN, plan_id="mine")
    assert started.feedback_id is not None
    seeded = await seed_call(db, alice, [("callee", "hmm")])
    review = await runner.analyze_call(alice, seeded.call_id)  # rehearsal: low confidence
    assert review.feedback_id is not None

    # Bob sees none of Alice's items …
    async with db.scope(bob) as s:
        assert await s.feedback.list_pending() == []
    # … cannot answer them (they do not exist for him) …
    for item in (started.feedback_id, review.feedback_id):
        with pytest.raises(NotFound):
            await runner.answer_feedback(bob, item, {"type": "accept"})
    # … cannot read or run her threads, even knowing their ids …
    with pytest.raises(ThreadAccessDenied):
        await runner.thread_state(bob, started.thread_id)
    graph = runner.graphs["orchestrator"]
    with pytest.raises(ThreadAccessDenied):
        await graph.ainvoke(
            None, {"configurable": {"thread_id": started.thread_id}}, context=runner.context(bob)
        )
    # … nor pass himself off as her through a context of his own.
    with pytest.raises(ThreadAccessDenied):
        await answer_feedback(
            db,
            runner.graphs,
            user_id=alice,
            feedback_id=started.feedback_id,
            answer={"type": "accept"},
            context=runner.context(bob),
        )
    # A run without a user is refused outright.
    with pytest.raises(ThreadAccessDenied, match="no user"):
        await graph.ainvoke({"plan": PLAN}, {"configurable": {"thread_id": "user:0:plan:x"}})

    async with db.scope(alice) as s:
        assert {i.id for i in await s.feedback.list_pending()} == {
            started.feedback_id,
            review.feedback_id,
        }
        assert (await s.feedback.require(started.feedback_id)).status is FeedbackStatus.PENDING
    state = await runner.thread_state(alice, started.thread_id)
    assert state.interrupts  # still waiting for Alice
    done = await runner.answer_feedback(alice, started.feedback_id, {"type": "accept"})
    assert done.values["status"] == "approved"
    async with db.scope(bob) as s:
        assert await s.campaigns.list() == []
