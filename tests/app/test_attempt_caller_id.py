"""The caller ID an attempt dials with: its campaign's, else its owner's, else the node's."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from app.attempt_runner import CallAttemptRunner, PlacedCalls
from core.db import Claim, Database
from core.services import Preferences, save_preferences
from core.settings import Settings
from telephony.channel_ids import AttemptIds, attempt_ids, call_namespace
from telephony.errors import OriginateRefused
from tests.kit import T0, make_campaign, make_task, make_user

NODE = '"Acme" <+12125550199>'
CHOICES = "+12125550100,+16465550123"


class RecordingCalls:
    """A `CallInitiator` stand-in: notes what `place_call` was given, and refuses the call."""

    ready = True
    limit = 1
    calls_up = 0

    def __init__(self) -> None:
        self.placed: list[dict[str, Any]] = []

    async def ids_of(self, task_id: int, attempt: int) -> AttemptIds:
        return attempt_ids(task_id, attempt, call_namespace(uuid.UUID(int=1)))

    async def place_call(self, *args: Any, **kwargs: Any) -> Any:
        self.placed.append(kwargs)
        raise OriginateRefused("not in this test")


class Bridges:
    def expect(self, call_uuid: str) -> None:
        pass

    def audiosocket_address(self, call_uuid: str) -> str:
        return "127.0.0.1:9092"

    def forget(self, call_uuid: str) -> None:
        pass


class Analyzer:
    async def lifecycle_pass(self, user_id: int) -> None:
        pass


async def dial(
    db: Database, settings: Settings, user_id: int, campaign_caller_id: str | None
) -> str:
    campaign = await make_campaign(db, user_id, caller_id=campaign_caller_id)
    task = await make_task(db, user_id, campaign_id=campaign.id)
    calls = RecordingCalls()
    runner = CallAttemptRunner(
        db,
        settings,
        calls,  # type: ignore[arg-type]
        Bridges(),  # type: ignore[arg-type]
        Analyzer(),  # type: ignore[arg-type]
        placed=PlacedCalls(calls),  # type: ignore[arg-type]
        clock=lambda: T0,
    )
    claim = Claim(user_id, task.id, 1, T0 + dt.timedelta(minutes=5))
    await runner.run_attempt(claim, "+12125550101")
    (placed,) = calls.placed
    return str(placed["caller_id"])


@pytest.mark.parametrize(
    ("campaign", "owner", "expected"),
    [
        ("+16465550123", "+12125550100", "+16465550123"),
        (None, "+12125550100", "+12125550100"),
        (None, "", NODE),
    ],
)
async def test_the_campaigns_then_the_owners_then_the_nodes(
    db: Database, campaign: str | None, owner: str, expected: str
) -> None:
    settings = Settings(caller_id=NODE, caller_id_choices=CHOICES, app_test_mode=False)
    user_id = await make_user(db, "alice")
    if owner:
        prefs = Preferences.defaults(settings).model_dump(mode="json")
        await save_preferences(db, settings, user_id, {**prefs, "caller_id": owner})
    assert await dial(db, settings, user_id, campaign) == expected


async def test_a_choice_the_node_withdrew_is_passed_over(db: Database) -> None:
    user_id = await make_user(db, "alice")
    settings = Settings(caller_id=NODE, caller_id_choices="+12125550100", app_test_mode=False)
    assert await dial(db, settings, user_id, "+16465550123") == NODE
