"""Graph test fixtures: settings and a checkpointer beside the test database, seeded calls
(from the test kit's factories)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.checkpoint.base import BaseCheckpointSaver

from core.db import Database
from core.db.models import CallOutcome, CallState, StopRule
from core.settings import Settings
from graphs import GraphRunner
from graphs.checkpoint import open_checkpointer
from tests.kit import T0, make_call, make_campaign, make_task

NOW = T0  # a Tuesday, 10:00 in New York


def clock() -> dt.datetime:
    return NOW


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        data_dir=tmp_path,
        assistant_model="scripted:rehearsal",
        orchestrator_model="scripted:rehearsal",
        analyzer_model="scripted:rehearsal",
        lifecycle_model="scripted:rehearsal",
        search_model="scripted:rehearsal",
    )


@pytest.fixture
async def checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[str]]:
    async with open_checkpointer(settings) as saver:
        yield saver


RunnerFactory = Callable[..., GraphRunner]


@pytest.fixture
async def installation_id(db: Database) -> uuid.UUID:
    async with db.system() as system:
        return await system.installation_id()


@pytest.fixture
def make_runner(
    db: Database,
    settings: Settings,
    checkpointer: BaseCheckpointSaver[str],
    installation_id: uuid.UUID,
) -> RunnerFactory:
    """A runner on the test database; pass `models={purpose: fake}` to script the agents."""

    def make(
        models: Mapping[str, BaseChatModel] | None = None,
        clock: Callable[[], dt.datetime] = clock,
        settings: Settings = settings,
        **kw: Any,
    ) -> GraphRunner:
        return GraphRunner(
            db,
            settings,
            checkpointer,
            installation_id=installation_id,
            clock=clock,
            models=models,
            **kw,
        )

    return make


@pytest.fixture
def runner(make_runner: RunnerFactory) -> GraphRunner:
    return make_runner()


def fake(*replies: AIMessage | str) -> GenericFakeChatModel:
    """LangChain's scripted fake chat model, answering with `replies` in turn."""
    return GenericFakeChatModel(messages=iter(replies))


def tool_call(name: str, args: dict[str, Any], call_id: str = "call-1") -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


PLAN: dict[str, Any] = {
    "name": "Dentists",
    "objective": "Book a cleaning next week, mornings",
    "targets": [
        {"name": "Smile Dental", "phone": "+1 212 555 0101"},
        {"name": "Brooklyn Teeth", "phone": "+12125550102"},
        {"name": "LA Teeth", "phone": "+13105550101"},
    ],
    "questions": ["Do you take Aetna?"],
    "stop_rule": "first_success",
}


@dataclass
class Seeded:
    campaign_id: int
    task_ids: list[int]
    call_id: int


async def seed_call(
    db: Database,
    user_id: int,
    transcript: Sequence[tuple[str, str]],
    *,
    outcome: CallOutcome = CallOutcome.ANSWERED,
    stop_rule: StopRule = StopRule.CALL_EVERYONE,
    phones: Sequence[str] = ("+12125550101", "+12125550102"),
    plan: dict[str, Any] | None = None,
    attempt: int = 1,
) -> Seeded:
    """An active campaign with one task per phone and an ended call on the first task."""
    campaign = await make_campaign(
        db,
        user_id,
        plan=plan or {"questions": ["Do you take Aetna?"], "success_criteria": ["booked"]},
        stop_rule=stop_rule,
    )
    tasks = [
        await make_task(
            db,
            user_id,
            campaign_id=campaign.id,
            target_name=f"Target {i}",
            phone=phone,
            due_at=NOW,
        )
        for i, phone in enumerate(phones, 1)
    ]
    call = await make_call(
        db,
        user_id,
        task_id=tasks[0].id,
        attempt=attempt,
        state=CallState.ENDED,
        outcome=outcome,
        answered_at=NOW - dt.timedelta(minutes=5),
        ended_at=NOW - dt.timedelta(minutes=1),
        transcript=transcript,
        spoken_at=NOW - dt.timedelta(minutes=4),
    )
    return Seeded(campaign.id, [t.id for t in tasks], call.id)
