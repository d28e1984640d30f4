"""The domain vocabulary: enums keep the strings the database holds, and each JSON column's model
reads today's stored shape and writes it back unchanged."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel

from agents.schemas import parse_plan
from core.db import models
from core.domain import (
    AttemptResult,
    CallOutcome,
    CallState,
    CampaignStatus,
    EndedBy,
    FeedbackAnswer,
    FeedbackKind,
    FeedbackPayload,
    FeedbackStatus,
    NextAction,
    RecordedFact,
    StopRule,
    StoredAnalysis,
    StoredPlan,
    StoredTarget,
    TaskResult,
    TaskStatus,
    TranscriptTurn,
    TurnRole,
    VoiceActivityRecord,
    read_items,
)

AT = dt.datetime(2025, 3, 4, 9, 30, 15, 123456, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        (
            CampaignStatus,
            ["pending_approval", "active", "paused", "completed", "cancelled", "rejected"],
        ),
        (StopRule, ["first_success", "call_everyone"]),
        (
            TaskStatus,
            ["pending", "claimed", "analyzing", "on_hold", "completed", "failed", "cancelled"],
        ),
        (CallState, ["originating", "ringing", "answered", "ended"]),
        (
            CallOutcome,
            [
                "answered",
                "busy",
                "no_answer",
                "congestion",
                "failed",
                "cancelled",
                "voicemail",
                "technical_failure",
            ],
        ),
        (
            AttemptResult,
            [
                "busy",
                "no_answer",
                "congestion",
                "failed",
                "technical_failure",
                "voicemail",
                "cancelled",
                "awaiting_review",
            ],
        ),
        (
            NextAction,
            ["done", "retry_at", "call_back_at", "ask_owner", "cancel_siblings", "cancel"],
        ),
        (EndedBy, ["agent", "callee", "voicemail", "failure", "handed_over"]),
        (TurnRole, ["agent", "callee", "owner", "owner_note", "handover"]),
        (
            FeedbackKind,
            [
                "plan_approval",
                "live_question",
                "analysis_review",
                "check_in",
                "owner_note",
                "take_over",
            ],
        ),
        (FeedbackStatus, ["pending", "answered", "expired", "cancelled", "closed"]),
    ],
)
def test_enums_keep_their_stored_values(enum: type[StrEnum], values: list[str]) -> None:
    assert [m.value for m in enum] == values
    assert all(enum(v) == v for v in values)  # a member equals the stored text


def test_the_database_models_use_the_domain_enums() -> None:
    assert models.TaskStatus is TaskStatus and models.CallOutcome is CallOutcome
    assert models.REHEARSAL_VOICE == "rehearsal"


def test_the_domain_does_not_need_the_database_layer() -> None:
    code = "import sys, core.domain; sys.exit('sqlalchemy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


ANALYSIS: dict[str, Any] = {
    "outcome": "callback_requested",
    "goal_achieved": False,
    "summary": "Call back on Tuesday.",
    "facts": [{"name": "when", "value": "Tuesday", "quote": "try Tuesday", "supported": True}],
    "callback_phrase": "try Tuesday",
    "callback_at": "2025-03-11T10:00:00-04:00",
    "next_step": {"action": "call_back_at", "at": "2025-03-11T14:00:00Z", "reason": "asked"},
    "confidence": 0.8,
    "review_reasons": [],
    "reviewed_by_owner": False,
    "owner_note": None,
    "rehearsal": False,
    "final": True,
}


# What is written today, exactly: each model dumps it back unchanged.
@pytest.mark.parametrize(
    ("model", "stored"),
    [
        (TranscriptTurn, {"role": "agent", "text": "Hello!", "at": AT.isoformat()}),
        (TranscriptTurn, {"role": "owner", "text": "Yes, book it.", "at": None}),
        (
            RecordedFact,
            {"name": "price", "value": "$80", "quote": 'it\'s "80"', "at": AT.isoformat()},
        ),
        (
            VoiceActivityRecord,
            {
                "turns": [
                    {
                        "start_ms": 700,
                        "end_ms": 2100,
                        "started_at": AT.isoformat(),
                        "ended_at": AT.isoformat(),
                    },
                    {
                        "start_ms": 5000,
                        "end_ms": None,
                        "started_at": AT.isoformat(),
                        "ended_at": None,
                    },
                ],
                "turns_dropped": 0,
                "audio_ms": 5000,
                "voiced_ms": 1200,
                "transcribed": 1,
                "failed_transcriptions": 1,
                "on_hold_ms": 21000,
            },
        ),
        (TaskResult, {"reason": "busy: retry in 0:10:00", "detail": "busy"}),
        (TaskResult, {"outcome": "achieved", "reason": "goal achieved", "goal_achieved": True}),
        (TaskResult, {"reason": "on the Do-Not-Call list"}),
        (StoredAnalysis, ANALYSIS),
    ],
)
def test_a_stored_shape_round_trips(model: type[BaseModel], stored: dict[str, Any]) -> None:
    read = model.model_validate(stored)
    dumped = read.model_dump(mode="json", exclude_none=model is TaskResult)
    assert dumped == stored
    assert json.dumps(dumped) == json.dumps(stored)  # same keys, same order


def test_analysis_reads_its_vocabulary() -> None:
    analysis = StoredAnalysis.read(ANALYSIS)
    assert analysis is not None and analysis.final
    assert analysis.next_step.action is NextAction.CALL_BACK_AT
    assert analysis.next_step.at == dt.datetime(2025, 3, 11, 14, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "stored",
    [{}, None, [], {"outcome": "achieved"}, {**ANALYSIS, "confidence": "very"}],
)
def test_a_row_that_is_not_an_analysis_reads_as_none(stored: Any) -> None:
    assert StoredAnalysis.read(stored) is None


def test_an_analysis_without_final_is_not_final_and_unknown_keys_are_dropped() -> None:
    stored = {k: v for k, v in ANALYSIS.items() if k != "final"} | {"extra": 1}
    analysis = StoredAnalysis.read(stored)
    assert analysis is not None and not analysis.final
    assert "extra" not in analysis.model_dump()


def test_list_columns_skip_items_that_do_not_fit() -> None:
    stored = [
        {"role": "agent", "text": "Hi", "at": AT.isoformat(), "extra": "ignored"},
        {"role": "callee", "text": "Hello"},  # no time: kept, at None
        {"role": "robot", "text": "?"},  # not a speaker
        {"text": "no role"},
        "a string",
        None,
    ]
    turns = read_items(TranscriptTurn, stored)
    assert [(t.role, t.text, t.at) for t in turns] == [
        (TurnRole.AGENT, "Hi", AT),
        (TurnRole.CALLEE, "Hello", None),
    ]
    assert read_items(TranscriptTurn, None) == [] and read_items(TranscriptTurn, {}) == []


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ({}, VoiceActivityRecord()),
        (None, VoiceActivityRecord()),
        ("junk", VoiceActivityRecord()),
        ({"voiced_ms": 1200}, VoiceActivityRecord(voiced_ms=1200)),
        ({"on_hold_ms": 21000}, VoiceActivityRecord(on_hold_ms=21000)),
        ({"voiced_ms": -5, "audio_ms": "x", "transcribed": True}, VoiceActivityRecord()),
        ({"turns": [{"start_ms": 1}, "x"]}, VoiceActivityRecord()),  # a turn without its time
    ],
)
def test_voice_activity_reads_what_it_can(stored: Any, expected: VoiceActivityRecord) -> None:
    assert VoiceActivityRecord.read(stored) == expected


@pytest.mark.parametrize(
    ("stored", "words"),
    [
        ({"text": " Tuesday at nine "}, "Tuesday at nine"),
        ({"type": "response", "args": "call them back"}, "call them back"),
        ({"type": "accept", "args": None}, None),
        ({"type": "edit", "args": {"summary": "x"}}, None),
        ({"decision": "retry_at", "when": "tomorrow"}, None),
        ({"text": "   "}, None),
    ],
)
def test_an_answer_gives_the_owners_words(stored: dict[str, Any], words: str | None) -> None:
    answer = FeedbackAnswer.read(stored)
    assert answer is not None and answer.words == words
    assert answer.model_dump(mode="json", exclude_none=True, exclude_defaults=True) == {
        k: v for k, v in stored.items() if v is not None
    }


def test_no_answer_reads_as_none() -> None:
    assert FeedbackAnswer.read(None) is None and FeedbackAnswer.read({}) is None


def test_a_task_result_reads_what_it_can() -> None:
    assert TaskResult.read({}) == TaskResult()
    assert TaskResult.read(None).goal_achieved is None
    assert TaskResult.read({"goal_achieved": True, "later": 1}).goal_achieved is True
    assert TaskResult.read({"goal_achieved": "maybe"}) == TaskResult()


def test_a_plan_reads_back_as_the_agents_wrote_it() -> None:
    plan = parse_plan(
        {
            "name": "Dentists",
            "objective": "Book a cleaning",
            "targets": [{"name": "Smile Dental", "phone": "+1 212 555 0101"}],
            "constraints": {"days": ["sat", "tue"], "earliest": "09:00", "notes": ["mornings"]},
            "questions": ["Do you take Aetna?"],
            "success_criteria": ["booked"],
            "stop_rule": "first_success",
        }
    )
    read = StoredPlan.read(plan.model_dump(mode="json"))
    assert (read.name, read.objective, read.stop_rule) == (
        "Dentists",
        "Book a cleaning",
        "first_success",
    )
    assert [(t.name, t.phone) for t in read.targets] == [("Smile Dental", "+12125550101")]
    assert read.constraints is not None and read.constraints.weekdays == [1, 5]
    assert read.constraints.earliest == dt.time(9) and read.constraints.notes == ["mornings"]
    assert (read.questions, read.success_criteria, read.max_attempts) == (
        ["Do you take Aetna?"],
        ["booked"],
        3,
    )


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (None, StoredPlan()),
        ("junk", StoredPlan()),
        ({"constraints": {}}, StoredPlan()),  # no limits of its own
        (
            {"questions": " Aetna? ", "warnings": ["", "late"]},
            StoredPlan(questions=["Aetna?"], warnings=["late"]),
        ),
        # A key that does not fit reads as missing; the rest still counts.
        ({"name": "N", "max_attempts": "many"}, StoredPlan(name="N")),
        (
            {"name": "N", "constraints": {"earliest": "10:00", "latest": "09:00"}},
            StoredPlan(name="N"),
        ),
        ({"name": "N", "constraints": {"weekdays": [9]}}, StoredPlan(name="N")),
        # Older spellings, and targets that name no one left out.
        (
            {"title": "T", "goal": "G", "targets": ["B", 3, {}, {"phone_e164": "+12125550111"}]},
            StoredPlan(
                name="T",
                objective="G",
                targets=[StoredTarget(name="B"), StoredTarget(phone="+12125550111")],
            ),
        ),
    ],
)
def test_a_plan_reads_what_it_can(stored: Any, expected: StoredPlan) -> None:
    assert StoredPlan.read(stored) == expected


def test_the_gates_week_days_are_read_from_a_stored_plan() -> None:
    read = StoredPlan.read({"constraints": {"weekdays": [5, 6]}})
    assert read.constraints is not None and read.constraints.days == ["sat", "sun"]


def test_a_feedback_payload_reads_each_kinds_keys() -> None:
    check_in = FeedbackPayload.read(
        {"campaign_id": 3, "ended": 1, "total": 3, "asked_at": AT.isoformat(), "hitl": {"key": "k"}}
    )
    assert (check_in.campaign_id, check_in.ended, check_in.total) == (3, 1, 3)
    assert check_in.asked_at == AT and check_in.hitl.key == "k" and check_in.applied is None
    review = FeedbackPayload.read({"analysis": ANALYSIS, "can_accept": True, "applied": "done"})
    assert review.analysis == StoredAnalysis.read(ANALYSIS) and review.can_accept
    assert review.applied == "done"
    approval = FeedbackPayload.read(
        {
            "plan": {"name": "Dentists"},
            "warnings": "check the hours",
            "review": {
                "targets": [{"issues": ["no number"]}, "junk", {"issues": "on the DNC list"}]
            },
        }
    )
    assert approval.plan == StoredPlan(name="Dentists") and approval.warnings == ["check the hours"]
    assert approval.review_issues == ["no number", "on the DNC list"]


@pytest.mark.parametrize("stored", [None, [], "junk", {}])
def test_no_payload_reads_as_an_empty_one(stored: Any) -> None:
    assert FeedbackPayload.read(stored) == FeedbackPayload()


def test_a_payload_key_that_does_not_fit_reads_as_missing_and_unknown_keys_are_kept() -> None:
    read = FeedbackPayload.read(
        {
            "asked_at": "yesterday",
            "can_accept": "maybe",
            "hitl": 5,
            "analysis": {"outcome": "achieved"},
            "plan": "a plan",
            "context": "The receptionist is holding.",
            "later": 1,
        }
    )
    assert (read.asked_at, read.can_accept, read.hitl.key, read.analysis, read.plan) == (
        None,
        False,
        None,
        None,
        None,
    )
    assert read.context == "The receptionist is holding." and read.model_extra == {"later": 1}
