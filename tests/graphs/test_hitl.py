"""HITL plumbing: thread ids, answers, and one user never reaching another user's threads."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from core.db import Database, NotFound
from core.db.models import FeedbackStatus
from graphs import GraphRunner, ThreadAccessDenied, parse_thread_id, thread_id_for
from graphs.hitl import (
    BadAnswer,
    ThreadRef,
    answer_feedback,
    check_thread_owner,
    parse_response,
    thread_config,
)
from tests.graphs.conftest import PLAN, seed_call

ALL = {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True}


INST = uuid.UUID("5f0c3e0a-7a52-4f7e-9d3b-0c1f1b2a3c4d")
OTHER = uuid.UUID("0e9d8c7b-6a59-4483-b2a1-f0e9d8c7b6a5")
CALL_3 = f"inst:{INST}:user:7:call:3"


def test_thread_ids_round_trip() -> None:
    tid = thread_id_for(INST, 7, "plan", "a:b")
    assert tid == f"inst:{INST}:user:7:plan:a:b"
    assert parse_thread_id(tid) == ThreadRef(7, "plan", "a:b", INST)
    # the short form (the UI's name for a chat) parses, naming no installation
    assert parse_thread_id("user:7:chat:x") == ThreadRef(7, "chat", "x", None)
    with pytest.raises(ValueError, match="bad thread id parts"):
        thread_id_for(INST, 0, "plan", "x")


@pytest.mark.parametrize(
    "bad",
    [
        "7:plan:x",
        "user:x:plan:y",
        "user:7:other:y",
        "user:7:plan:",
        "a-uuid",
        "inst:",
        f"inst:{INST}",
        "inst:not-a-uuid:user:7:plan:x",
        f"inst:{INST.hex}:user:7:plan:x",  # one spelling per installation
        f"inst:{str(INST).upper()}:user:7:plan:x",
        f"inst:{INST}:7:plan:x",
        f"inst:{INST}:inst:{INST}:user:7:plan:x",
    ],
)
def test_what_is_not_one_of_our_thread_ids(bad: str) -> None:
    assert parse_thread_id(bad) is None


@pytest.mark.parametrize(
    ("thread", "user", "installation", "refused"),
    [
        (CALL_3, 7, INST, None),
        (CALL_3, 8, INST, "does not belong to user 8"),
        (CALL_3, 7, OTHER, "belongs to another database"),
        (CALL_3, 7, None, "belongs to another database"),
        ("user:7:call:3", 7, INST, "names no installation"),
        ("0b6f-studio-uuid", 7, INST, "not an OpenDeep thread id"),
    ],
)
def test_owner_check(
    thread: str, user: int, installation: uuid.UUID | None, refused: str | None
) -> None:
    if refused is None:
        check_thread_owner(thread, user, installation_id=installation)
        return
    with pytest.raises(ThreadAccessDenied, match=refused):
        check_thread_owner(thread, user, installation_id=installation)


def test_studio_threads_pass_but_not_another_databases() -> None:
    check_thread_owner("0b6f-studio-uuid", 7, installation_id=INST, allow_foreign=True)
    with pytest.raises(ThreadAccessDenied, match="another database"):
        check_thread_owner(CALL_3, 7, installation_id=OTHER, allow_foreign=True)
    with pytest.raises(ThreadAccessDenied):
        thread_config(8, f"inst:{INST}:user:7:chat:x", installation_id=INST)


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
