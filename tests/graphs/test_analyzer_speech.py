"""A call is judged by what happened on it: the callee spoke but no transcript came (input
transcription off, failing or retired) → the analyzer reads what is known and, if it cannot
judge, asks the owner with the recording — never "technical failure". Real graph, database and
checkpointer; scripted models."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage

from agents.scripted import ScriptedChatModel
from core.db import Database
from media.speech_activity import INAUDIBLE, SpeechTurn, VoiceActivity
from tests.graphs.conftest import NOW, RunnerFactory, fake, seed_call, tool_call

RECORDING = "/var/spool/asterisk/recordings/6f1c.wav"
AGENT_ONLY = [
    ("agent", "Hi, this is an AI assistant calling on behalf of Alice."),
    ("agent", "Could I book a cleaning next week, in the morning?"),
]
START = NOW - dt.timedelta(minutes=5)
HEARD = VoiceActivity(
    turns=(
        SpeechTurn(400, START + dt.timedelta(seconds=1), 1600, START + dt.timedelta(seconds=2)),
        SpeechTurn(9000, START + dt.timedelta(seconds=70), 12500, START + dt.timedelta(seconds=74)),
    ),
    audio_ms=90_000,
    voiced_ms=4_100,
)


def answering(outcome: str, seen: list[str]) -> ScriptedChatModel:
    """A scripted analyzer that answers `outcome` and keeps the input it was given."""

    def respond(messages: Sequence[BaseMessage]) -> AIMessage:
        seen.append(str(messages[-1].content))
        return tool_call(
            "AnalyzerOutput",
            {
                "outcome": outcome,
                "goal_achieved": False,
                "summary": "No words from the callee.",
                "facts": [],
                "proposed_next_step": "retry_at",
                "confidence": 0.4,
            },
        )

    return ScriptedChatModel(script="test", purpose="analyzer", responder=respond)


async def with_voice(
    db: Database, user_id: int, call_id: int, activity: VoiceActivity, recording: str | None
) -> None:
    async with db.scope(user_id) as s:
        await s.calls.set_voice_activity(call_id, activity.record())
        if recording:
            await s.calls.set_progress(call_id, recording_path=recording)


async def test_speech_without_a_transcript_goes_to_the_model_then_the_owner(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, AGENT_ONLY)
    await with_voice(db, alice, seeded.call_id, HEARD, RECORDING)
    seen: list[str] = []
    runner = make_runner(models={"analyzer": answering("technical_failure", seen)})
    result = await runner.analyze_call(alice, seeded.call_id)
    # The model was asked, with who spoke when, the line's account and the recording.
    [prompt] = seen
    assert "callee: [speech, not transcribed: 1.2 s from 0:01]" in prompt
    assert prompt.index("not transcribed: 1.2 s") < prompt.index("agent: Hi, this is")
    assert "speak 2 time(s), 4.7 s in all" in prompt
    assert f"recording: {RECORDING}" in prompt
    # Its "technical failure" does not stand: the owner judges from the recording.
    assert result.analysis is not None
    assert result.analysis.outcome != "technical_failure"
    assert result.next_step is not None and result.next_step.action == "ask_owner"
    assert result.status == "awaiting_review" and result.feedback_id is not None
    async with db.scope(alice) as s:
        item = await s.feedback.require(result.feedback_id)
    assert RECORDING in item.question


async def test_failed_transcriptions_count_as_the_callee_speaking(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, [AGENT_ONLY[0], ("callee", INAUDIBLE), AGENT_ONLY[1]])
    seen: list[str] = []
    runner = make_runner(models={"analyzer": answering("technical_failure", seen)})
    result = await runner.analyze_call(alice, seeded.call_id)
    assert seen and "callee: [inaudible]" in seen[0]
    assert result.analysis is not None and result.analysis.outcome != "technical_failure"


async def test_a_model_that_can_judge_from_the_agents_words_is_followed(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, AGENT_ONLY)
    await with_voice(db, alice, seeded.call_id, HEARD, None)
    seen: list[str] = []
    runner = make_runner(models={"analyzer": answering("refused", seen)})
    result = await runner.analyze_call(alice, seeded.call_id)
    assert result.analysis is not None and result.analysis.outcome == "refused"
    assert "- no recording" in seen[0]


async def test_an_answered_call_with_no_sign_of_a_voice_is_a_technical_failure(
    db: Database, make_runner: RunnerFactory, two_users: tuple[int, int]
) -> None:
    alice, _ = two_users
    seeded = await seed_call(db, alice, AGENT_ONLY)
    silent = VoiceActivity(audio_ms=60_000, voiced_ms=120)  # line noise only
    await with_voice(db, alice, seeded.call_id, silent, RECORDING)
    runner = make_runner(models={"analyzer": fake()})  # would raise if asked
    result = await runner.analyze_call(alice, seeded.call_id)
    assert result.analysis is not None and result.analysis.outcome == "technical_failure"
    assert result.next_step is not None and result.next_step.action == "retry_at"
