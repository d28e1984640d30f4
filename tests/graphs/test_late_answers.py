"""A live question the call did not live to hear answered: closed at hang-up, out of the inbox,
and a late answer kept — in the next call's instructions, and read by the analyzer."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage

from agents.scripted import ScriptedChatModel
from app.attempt_runner import CALL_ENDED
from core.db import Database
from core.db.models import FeedbackKind, FeedbackStatus
from core.services import Reply, answer_item, inbox
from tests.graphs.conftest import RunnerFactory, seed_call
from tests.graphs.test_post_call_analyzer import TALK, analysis
from tests.kit import make_feedback


async def test_a_late_answer_is_kept_for_the_next_call_and_read_by_the_analyzer(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    seeded = await seed_call(db, alice, TALK, phones=("+12125550101",))
    asked = await make_feedback(
        db,
        alice,
        kind=FeedbackKind.LIVE_QUESTION,
        question="Eighty dollars: book anyway?",
        campaign_id=seeded.campaign_id,
        task_id=seeded.task_ids[0],
        call_id=seeded.call_id,
    )
    assert [i.id for i in await inbox(db, alice)] == [asked.id]
    # The attempt runner, once the call has ended: the question leaves the inbox.
    async with db.scope(alice) as s:
        assert await s.feedback.close_call_questions(seeded.call_id, CALL_ENDED) == [asked.id]
        assert await s.feedback.close_call_questions(seeded.call_id, CALL_ENDED) == []
    async with db.scope(bob) as s:
        assert await s.feedback.close_call_questions(seeded.call_id, CALL_ENDED) == []
    assert await inbox(db, alice) == []
    async with db.scope(alice) as s:
        row = await s.feedback.require(asked.id)
    assert row.status is FeedbackStatus.CLOSED and row.payload["closed_reason"] == CALL_ENDED

    # The owner answers anyway: told so, and the answer is kept.
    outcome = await answer_item(db, alice, asked.id, Reply("Yes, book it."))
    assert outcome.message.startswith("The call had ended before your answer, so it did not")
    async with db.scope(alice) as s:
        task = await s.tasks.require(seeded.task_ids[0])
        row = await s.feedback.require(asked.id)
    assert row.status is FeedbackStatus.CLOSED and row.answer == {"text": "Yes, book it."}
    assert task.instructions.endswith(
        "\u201cEighty dollars: book anyway?\u201d; they answered after that call ended: "
        "\u201cYes, book it.\u201d"
    )

    seen: list[Sequence[BaseMessage]] = []

    def read(messages: Sequence[BaseMessage]) -> AIMessage:
        seen.append(messages)
        return analysis("achieved")

    model = ScriptedChatModel(script="capture", purpose="analyzer", responder=read)
    await make_runner(models={"analyzer": model}).analyze_call(alice, seeded.call_id)
    [messages] = seen
    assert (
        "owner (after the call): asked \u201cEighty dollars: book anyway?\u201d, answered "
        "\u201cYes, book it.\u201d"
    ) in str(messages[-1].content)
