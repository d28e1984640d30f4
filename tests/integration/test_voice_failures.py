"""A voice that cannot start is never dialled; a voice that fails mid-call is a technical
failure, shown as such, and repeated failures pause the campaign instead of burning every
target's attempts. On the development PBX, with the database read back (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr
from websockets.asyncio.server import Server, ServerConnection, serve

from agents.schemas import CampaignPlan, StopRule, Target
from app.node import Node, PartsWanted
from app.rehearsal import node_settings
from core.db import Database
from core.db.models import CallOutcome, CampaignStatus, TaskStatus
from core.rules import PAUSE_AFTER, RetryPolicy
from core.settings import Settings
from tests.helpers import free_port
from tests.integration.scheduling import dispatching
from tests.kit import make_user, until

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

QUICK = RetryPolicy(delays={"technical_failure": dt.timedelta(seconds=1)})
TARGETS = [f"+1212555{n:04d}" for n in (201, 202, 203, 204, 205)]  # test mode sends all to 0101


def plan(name: str) -> CampaignPlan:
    return CampaignPlan(
        name=name,
        objective="Book a dental cleaning next week.",
        targets=[Target(name=f"Dentist {i}", phone=n) for i, n in enumerate(TARGETS, 1)],
        stop_rule=StopRule.CALL_EVERYONE,
        max_attempts=3,
    )


@contextlib.asynccontextmanager
async def running_node(settings: Settings, db: Database) -> AsyncIterator[tuple[Node, int]]:
    """A started node in test mode, one call at a time, and its owner's id."""
    async with Node(
        settings.model_copy(update={"app_test_mode": True, "max_concurrent_calls": 1}),
        db,
        PartsWanted(ui=False),
        retry=QUICK,
        ring_timeout_s=6,
        safety_interval_s=0.5,
        lifecycle_interval_s=3600,
        rehearsal_voice=False,
    ) as node:
        assert node.telephony is not None
        await node.telephony.ami.wait_connected(20)
        user_id = await make_user(db, "owner", display_name="Alex Morgan")
        yield node, user_id


async def approve(node: Node, user_id: int, p: CampaignPlan) -> int:
    runner = node.graphs.runner
    orch = await runner.start_orchestration(user_id, p, plan_id=p.name)
    assert orch.feedback_id is not None, orch
    await runner.answer_feedback(user_id, orch.feedback_id, {"type": "accept"})
    async with node.db.scope(user_id) as s:
        (campaign,) = [c for c in await s.campaigns.list() if c.thread_id == orch.thread_id]
    return campaign.id


@pytest.mark.parametrize(
    ("update", "setting"),
    [
        # OpenAI's voice without a key: a configuration problem.
        (
            {"realtime_url": "wss://api.openai.com/v1", "openai_api_key": SecretStr("")},
            "OPENAI_API_KEY",
        ),
        # A local voice server that is not running: nothing listens there.
        ({"realtime_url": f"ws://127.0.0.1:{free_port()}/v1"}, "REALTIME_URL"),
    ],
    ids=["no-key", "unreachable"],
)
async def test_a_voice_that_cannot_start_is_never_dialled(
    db: Database, pbx_settings: Settings, update: dict[str, Any], setting: str
) -> None:
    settings = node_settings(pbx_settings).model_copy(update={"database_url": db.url, **update})
    async with running_node(settings, db) as (node, user_id):
        campaign_id = await approve(node, user_id, plan("Voice down"))

        async def noted() -> bool:
            async with db.scope(user_id) as s:
                return bool((await s.campaigns.require(campaign_id)).status_reason)

        await until(
            dispatching(node, noted), 20, "the campaign to say why it does not dial", step=0.5
        )
        for _ in range(3):  # more passes change nothing
            assert node.scheduler is not None
            await node.scheduler.dispatch_now()
        async with db.scope(user_id) as s:
            campaign = await s.campaigns.require(campaign_id)
            tasks = await s.tasks.list_for_campaign(campaign_id)
            calls = [c for t in tasks for c in await s.calls.list_for_task(t.id)]
        assert campaign.status is CampaignStatus.ACTIVE
        reason = campaign.status_reason or ""
        assert reason.startswith("not dialling: the voice cannot start — "), reason
        assert setting in reason, reason
        assert "\n" not in reason
        assert calls == []  # nobody was rung
        assert all(t.status is TaskStatus.PENDING and t.attempts == 0 for t in tasks)


@contextlib.asynccontextmanager
async def failing_voice() -> AsyncIterator[tuple[str, list[str]]]:
    """A Realtime endpoint that accepts each session, then fails it with a server error
    (1011) as soon as the client has configured it — as a broken upstream does."""
    seen: list[str] = []

    async def handle(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"type": "session.created", "event_id": "e1", "session": {}}))
        first = json.loads(await ws.recv())
        seen.append(str(first.get("type")))
        await ws.close(1011, "upstream failure")

    server: Server = await serve(handle, "127.0.0.1", 0)
    port = next(iter(server.sockets)).getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}/v1", seen
    finally:
        server.close()
        await server.wait_closed()


async def test_a_voice_failing_mid_call_pauses_the_campaign_after_repeated_failures(
    db: Database, pbx_settings: Settings
) -> None:
    async with failing_voice() as (url, seen):
        settings = node_settings(pbx_settings, url).model_copy(update={"database_url": db.url})
        async with running_node(settings, db) as (node, user_id):
            campaign_id = await approve(node, user_id, plan("Voice breaks"))

            async def paused() -> bool:
                async with db.scope(user_id) as s:
                    c = await s.campaigns.require(campaign_id)
                    return c.status is CampaignStatus.PAUSED

            await until(dispatching(node, paused), 120, "the campaign to pause", step=0.5)
            await asyncio.sleep(3)  # a paused campaign dials nothing more
            assert node.scheduler is not None
            await node.scheduler.dispatch_now()
            async with db.scope(user_id) as s:
                campaign = await s.campaigns.require(campaign_id)
                tasks = await s.tasks.list_for_campaign(campaign_id)
                calls = [c for t in tasks for c in await s.calls.list_for_task(t.id)]
    assert seen and set(seen) == {"session.update"}
    assert len(calls) == PAUSE_AFTER, [(c.task_id, c.attempt, c.outcome) for c in calls]
    for call in calls:
        # Answered by the simulated receptionist, but the call is what it was: a failure.
        assert call.answered_at is not None
        assert call.outcome is CallOutcome.TECHNICAL_FAILURE
        assert call.end_reason and "voice" in call.end_reason
    reason = campaign.status_reason or ""
    assert reason.startswith(f"dialling paused after {PAUSE_AFTER} technical failures in a row")
    assert "Resume" in reason
    # The attempts left are kept for when the owner resumes: none was burnt past the pause.
    assert sum(t.attempts for t in tasks) == PAUSE_AFTER
    assert all(t.status is TaskStatus.PENDING for t in tasks)
