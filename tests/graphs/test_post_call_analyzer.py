"""Post-call analyzer: every outcome, the quote check, opt-out → DNC, callbacks, owner review."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from langchain_core.messages import AIMessage

from agents.schemas import OUTCOMES, Outcome
from core.db import Database
from core.db.models import CallOutcome, FeedbackKind, FeedbackStatus, StopRule
from core.domain import AuditAction
from graphs import GraphRunner
from tests.graphs.conftest import NOW, RunnerFactory, fake, seed_call, tool_call

NY = ZoneInfo("America/New_York")
TALK = [
    ("agent", "Hi, this is an AI assistant calling on behalf of Alice."),
    ("callee", "Hello, Smile Dental, how can I help?"),
    ("agent", "Alice would like a cleaning next week, in the morning."),
    ("callee", "We can do Tuesday at 9:30 with Dr. Lee. It's eighty dollars."),
]


def analysis(outcome: Outcome, **kw: Any) -> AIMessage:
    args: dict[str, Any] = {
        "outcome": outcome,
        "goal_achieved": outcome == "achieved",
        "summary": f"The call ended as {outcome}.",
        "facts": [],
        "proposed_next_step": "done",
        "confidence": 0.9,
    }
    args.update(kw)
    return tool_call("AnalyzerOutput", args)


EXPECTED: dict[str, tuple[str, dt.datetime | None]] = {
    "achieved": ("done", None),
    "voicemail": ("retry_at", NOW + dt.timedelta(days=1, hours=3)),
    "wrong_number": ("done", None),
    "callback_requested": ("call_back_at", dt.datetime(2026, 11, 26, 15, 0, tzinfo=NY)),
    "refused": ("done", None),
    "opt_out": ("done", None),
    "no_answer": ("retry_at", NOW + dt.timedelta(hours=2)),
    "busy": ("retry_at", NOW + dt.timedelta(minutes=10)),
    "technical_failure": ("retry_at", NOW + dt.timedelta(minutes=3)),
}


@pytest.mark.parametrize("outcome", [o for o in OUTCOMES if o != "partial"])
async def test_each_outcome_gives_its_next_step(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int], outcome: Outcome
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, TALK)
    extra: dict[str, Any] = {}
    if outcome == "callback_requested":
        extra = {"callback_phrase": "call back Thursday after 3 pm"}
    runner = make_runner(models={"analyzer": fake(analysis(outcome, **extra))})
    result = await runner.analyze_call(alice, seeded.call_id)
    assert result.status == "done" and result.feedback_id is None
    assert result.analysis is not None and result.analysis.outcome == outcome
    assert result.next_step is not None
    assert (result.next_step.action, result.next_step.at) == EXPECTED[outcome]
    async with db.scope(alice) as s:
        stored = (await s.calls.require(seeded.call_id)).analysis
    assert stored["outcome"] == outcome and stored["final"] is True
    assert stored["next_step"]["action"] == EXPECTED[outcome][0]


async def test_partial_goes_to_the_owner(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, TALK)
    runner = make_runner(
        models={
            "analyzer": fake(
                analysis(
                    "partial",
                    proposed_next_step="ask_owner",
                    owner_question="Eighty dollars is above budget: book anyway?",
                )
            )
        }
    )
    result = await runner.analyze_call(alice, seeded.call_id)
    assert result.status == "awaiting_review" and result.feedback_id is not None
    async with db.scope(alice) as s:
        item = await s.feedback.require(result.feedback_id)
    assert item.kind is FeedbackKind.ANALYSIS_REVIEW and item.call_id == seeded.call_id
    assert "Eighty dollars is above budget: book anyway?" in item.question
    state = await runner.thread_state(alice, result.thread_id)
    assert state.interrupts[0].value["config"]["allow_accept"] is False  # a decision is needed
    done = await runner.answer_feedback(
        alice, item.id, {"type": "edit", "args": {"next_step": "done"}}
    )
    assert done.values["next_step"]["action"] == "done"


async def test_calls_nobody_spoke_on_need_no_model(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, [], outcome=CallOutcome.BUSY)
    runner = make_runner(models={"analyzer": fake()})  # would raise StopIteration if asked
    result = await runner.analyze_call(alice, seeded.call_id)
    assert result.analysis is not None and result.analysis.outcome == "busy"
    assert result.analysis.confidence == 1.0
    assert result.next_step is not None and result.next_step.action == "retry_at"


async def test_an_unsupported_quote_is_flagged_and_never_confirmed(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, TALK)
    facts = [
        {
            "name": "appointment",
            "value": "Tuesday 9:30, Dr. Lee",
            "quote": "we can do tuesday at 9:30 with dr lee",
        },
        {"name": "insurance", "value": "takes Aetna", "quote": "Yes, we take Aetna"},
    ]
    runner = make_runner(models={"analyzer": fake(analysis("refused", facts=facts))})
    result = await runner.analyze_call(alice, seeded.call_id)
    assert result.analysis is not None
    assert [f.supported for f in result.analysis.facts] == [True, False]
    assert result.analysis.confirmed_facts() == {"appointment": "Tuesday 9:30, Dr. Lee"}
    async with db.scope(alice) as s:
        stored = (await s.calls.require(seeded.call_id)).analysis
    assert stored["facts"][1] == {
        "name": "insurance",
        "value": "takes Aetna",
        "quote": "Yes, we take Aetna",
        "supported": False,
    }


async def test_goal_claimed_on_unsupported_quotes_is_reviewed(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, TALK)
    facts = [{"name": "appointment", "value": "Friday", "quote": "Friday works for us"}]
    runner = make_runner(models={"analyzer": fake(analysis("achieved", facts=facts))})
    result = await runner.analyze_call(alice, seeded.call_id)
    assert result.status == "awaiting_review"
    assert result.analysis is not None
    assert (
        "quotes for these facts are not in the transcript: appointment"
        in result.analysis.review_reasons[0]
    )


async def test_opt_out_puts_the_number_on_the_users_dnc(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, bob = two_users
    talk = [*TALK[:2], ("callee", "Please don't call this number again.")]
    seeded = await seed_call(db, alice, talk)
    facts = [{"name": "opt-out", "value": "yes", "quote": "don't call this number again"}]
    runner = make_runner(models={"analyzer": fake(analysis("opt_out", facts=facts))})
    result = await runner.analyze_call(alice, seeded.call_id)
    assert result.next_step is not None and result.next_step.action == "done"
    async with db.scope(alice) as s:
        [entry] = await s.dnd.list()
        assert await s.dnd.blocks("+12125550101")
    assert entry.source == "call" and entry.phone_e164 == "+12125550101"
    assert "don't call this number again" in entry.reason
    async with db.scope(alice) as s:
        [event] = await s.audit.list()  # no owner decided it: the analyzer is the actor
    assert (event.action, event.subject, event.actor, event.at) == (
        AuditAction.DNC_ADDED,
        "+12125550101",
        "post-call analyzer",
        NOW,
    )
    assert event.detail == {"reason": entry.reason, "source": "call"}
    async with db.scope(bob) as s:
        assert not await s.dnd.blocks("+12125550101")  # the user's list, not everyone's
        assert await s.audit.list() == []


async def test_callback_time_from_the_models_reading(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, TALK)
    out = analysis(
        "callback_requested",
        callback_phrase="when the doctor is back",
        callback_local_time="2026-11-27T11:00",
    )
    runner = make_runner(models={"analyzer": fake(out)})
    result = await runner.analyze_call(alice, seeded.call_id)
    assert result.analysis is not None
    assert result.analysis.callback_at == dt.datetime(2026, 11, 27, 11, 0, tzinfo=NY)
    assert result.next_step is not None and result.next_step.at == dt.datetime(
        2026, 11, 27, 16, 0, tzinfo=dt.UTC
    )


async def test_first_success_asks_to_cancel_the_siblings(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, TALK, stop_rule=StopRule.FIRST_SUCCESS)
    facts = [{"name": "appointment", "value": "Tue 9:30", "quote": "Tuesday at 9:30 with Dr. Lee"}]
    runner = make_runner(models={"analyzer": fake(analysis("achieved", facts=facts))})
    result = await runner.analyze_call(alice, seeded.call_id)
    assert result.next_step is not None and result.next_step.action == "cancel_siblings"


@pytest.mark.parametrize(
    ("answer", "expected_action", "note"),
    [
        ({"type": "accept"}, "done", None),
        (
            {
                "type": "edit",
                "args": {
                    "outcome": "callback_requested",
                    "goal_achieved": False,
                    "callback_at": "2026-11-26T15:00:00-05:00",
                },
            },
            "call_back_at",
            None,
        ),
        (
            {"type": "edit", "args": {"next_step": "retry_at", "at": "2026-11-25T14:00:00+00:00"}},
            "retry_at",
            None,
        ),
        (
            {"type": "response", "args": "Leave it, I will call them myself."},
            "done",
            "Leave it, I will call them myself.",
        ),
        ({"type": "ignore"}, "done", None),
    ],
)
async def test_low_confidence_is_reviewed_and_resumed_with_the_verdict(
    db: Database,
    make_runner: RunnerFactory,
    two_users: tuple[int, int],
    answer: dict[str, Any],
    expected_action: str,
    note: str | None,
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, TALK)
    runner = make_runner(models={"analyzer": fake(analysis("refused", confidence=0.3))})
    result = await runner.analyze_call(alice, seeded.call_id)
    assert result.status == "awaiting_review" and result.feedback_id is not None
    assert result.analysis is not None
    assert result.analysis.review_reasons == ["low confidence (0.30 < 0.60)"]
    async with db.scope(alice) as s:
        stored = (await s.calls.require(seeded.call_id)).analysis
    assert stored["final"] is False

    again = await runner.analyze_call(alice, seeded.call_id)  # asked again while waiting
    assert again.feedback_id == result.feedback_id

    done = await runner.answer_feedback(alice, result.feedback_id, answer)
    assert done.waiting_on is None
    assert done.values["status"] == "done"
    assert done.values["next_step"]["action"] == expected_action
    async with db.scope(alice) as s:
        stored = (await s.calls.require(seeded.call_id)).analysis
        item = await s.feedback.require(result.feedback_id)
        assert await s.feedback.list_pending() == []
    assert stored["final"] is True and stored["reviewed_by_owner"] is True
    assert stored["owner_note"] == note
    assert item.status is FeedbackStatus.ANSWERED
    if answer["type"] == "edit" and "outcome" in answer["args"]:
        assert stored["outcome"] == "callback_requested" and stored["confidence"] == 1.0


async def test_an_invalid_review_edit_is_sent_back(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, TALK)
    runner = make_runner(models={"analyzer": fake(analysis("refused", confidence=0.3))})
    result = await runner.analyze_call(alice, seeded.call_id)
    assert result.feedback_id is not None
    again = await runner.answer_feedback(
        alice, result.feedback_id, {"type": "edit", "args": {"outcome": "maybe"}}
    )
    assert again.waiting_on is not None and again.waiting_on != result.feedback_id
    async with db.scope(alice) as s:
        item = await s.feedback.require(again.waiting_on)
    assert "Your edit was not applied: outcome" in item.payload["description"]
    done = await runner.answer_feedback(alice, again.waiting_on, {"type": "accept"})
    assert done.values["status"] == "done"


async def test_a_failing_model_sends_the_call_to_the_owner(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, TALK)
    runner = make_runner(models={"analyzer": fake("I am not JSON at all")})
    result = await runner.analyze_call(alice, seeded.call_id)
    assert result.status == "awaiting_review"
    assert result.analysis is not None and result.analysis.confidence == 0.0
    assert result.next_step is not None and result.next_step.action == "ask_owner"


async def test_an_analysed_call_is_not_analysed_twice(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, TALK)
    runner = make_runner(models={"analyzer": fake(analysis("refused"))})
    first = await runner.analyze_call(alice, seeded.call_id)
    second = await runner.analyze_call(alice, seeded.call_id)  # the fake has no second answer
    assert first.analysis == second.analysis


async def test_rehearsal_analysis_is_labelled(
    db: Database, runner: GraphRunner, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    talk = [*TALK[:2], ("callee", "Sorry, wrong number.")]
    seeded = await seed_call(db, alice, talk)
    result = await runner.analyze_call(alice, seeded.call_id)
    assert result.analysis is not None
    assert result.analysis.rehearsal is True and result.analysis.outcome == "wrong_number"
    assert result.analysis.facts[0].supported
