"""A call is judged by what happened on it, on the development PBX: the Realtime server sends no
input transcription (transcription off, failing or retired) while the simulated receptionist
talks — the call is not a technical failure, and the task is not retried as one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agents.schemas import CampaignPlan, Target
from app.node import Node, PartsWanted
from app.rehearsal import node_settings
from core.db import Database
from core.db.models import CallOutcome, CallState, TaskStatus
from core.settings import Settings
from media.realtime_server import RealtimeTestServer, Say, Script, ScriptedResponse
from media.realtime_server.responses import SimOptions
from media.speech_activity import VoiceActivity
from tests.integration.scheduling import dispatching
from tests.kit import make_user, until

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

AGENT = Script(
    responses=[
        ScriptedResponse(
            outputs=[Say(text="Hi, this is an AI assistant calling for Alex Morgan.")]
        ),
        *[ScriptedResponse(outputs=[Say(text="I see, thank you.")])] * 4,
    ],
    caller_transcripts=["These words must never reach the call's transcript."] * 6,
)
BUSY_ANALYSING = (TaskStatus.CLAIMED, TaskStatus.ANALYZING)


@pytest.fixture
async def node(
    db: Database, pbx_settings: Settings
) -> AsyncIterator[tuple[Node, RealtimeTestServer]]:
    async with RealtimeTestServer(
        AGENT, options=SimOptions(realtime_factor=1.0, transcription="withhold")
    ) as sim:
        settings = node_settings(pbx_settings, sim.url).model_copy(
            update={"database_url": db.url, "analyzer_model": "scripted:rehearsal"}
        )
        node = Node(settings, db, PartsWanted(ui=False), ring_timeout_s=10, safety_interval_s=0.5)
        async with node:
            assert node.telephony is not None
            await node.telephony.ami.wait_connected(20)
            yield node, sim


async def test_a_callee_who_talks_without_transcripts_is_no_technical_failure(
    node: tuple[Node, RealtimeTestServer], db: Database
) -> None:
    n, sim = node
    user_id = await make_user(db, "owner", display_name="Alex Morgan")
    plan = CampaignPlan(
        name="Transcription off",
        objective="Book a dental cleaning next week.",
        targets=[Target(name="Bright Smile Dental", phone="+12125550101")],  # Anna, who talks
        max_attempts=3,
    )
    runner = n.graphs.runner
    orch = await runner.start_orchestration(user_id, plan, plan_id=plan.name)
    assert orch.feedback_id is not None
    await runner.answer_feedback(user_id, orch.feedback_id, {"type": "accept"})
    async with db.scope(user_id) as s:
        (campaign,) = await s.campaigns.list()
        (task,) = await s.tasks.list_for_campaign(campaign.id)

    async def analysed() -> bool:
        async with db.scope(user_id) as s:
            calls = await s.calls.list_for_task(task.id)
            status = (await s.tasks.require(task.id)).status
        ended = calls and calls[0].state is CallState.ENDED and calls[0].analysis
        return bool(ended) and status not in BUSY_ANALYSING

    await until(
        dispatching(n, analysed), 120, "the call to be placed, ended and analysed", step=0.5
    )
    assert n.scheduler is not None
    for _ in range(3):  # later passes dial nothing more
        await n.scheduler.dispatch_now()
    async with db.scope(user_id) as s:
        calls = await s.calls.list_for_task(task.id)
        task = await s.tasks.require(task.id)
    [call] = calls
    # The call is what it was: answered, talked on — not a technical failure, not retried as one.
    assert call.outcome is not CallOutcome.TECHNICAL_FAILURE
    assert call.analysis["outcome"] != "technical_failure", call.analysis
    assert task.last_outcome != "technical_failure"
    assert task.attempts == 1
    # The receptionist spoke and the server's voice detection heard her; no word was transcribed.
    conn = sim.conversations[0]
    assert "input_audio_buffer.speech_started" in conn.sent_types()
    assert not [t for t in conn.sent_types() if "input_audio_transcription" in t]
    assert not [t for t in call.transcript if t["role"] == "callee"]
    assert any(t["role"] == "agent" for t in call.transcript)
    activity = VoiceActivity.from_json(call.voice_activity)
    assert activity.vad_turns >= 1 and activity.voiced_ms > 500, call.voice_activity
    assert activity.transcribed == 0
