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

from core.db import models
from core.domain import (
    AttemptResult,
    CallOutcome,
    CallState,
    CampaignStatus,
    EndedBy,
    FeedbackAnswer,
    FeedbackKind,
    FeedbackStatus,
    NextAction,
    RecordedFact,
    StopRule,
    StoredAnalysis,
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
        (EndedBy, ["agent", "callee", "voicemail", "failure"]),
        (TurnRole, ["agent", "callee", "owner", "owner_note"]),
        (
            FeedbackKind,
            ["plan_approval", "live_question", "analysis_review", "check_in", "owner_note"],
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
