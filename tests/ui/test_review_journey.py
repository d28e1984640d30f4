"""An owner's review that acts, walked in a real browser on the served app and the real PBX.

`opendeep serve` (telephony, media, scheduler, UI; the rehearsal voice; the development PBX;
SQLite or PostgreSQL) with an analyzer that is never sure (`tests/ui/review_node.py`): a call is
placed → the analysis goes to the owner as a review → the owner answers in Approvals "call them
again at <time>", a time read off the review card's own clock for the callee → the task is
rescheduled at that time → the next call happens then → the owner presses "Done" on its review
→ the task and the campaign are completed. The database is read back along the way.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from core.db import Database
from core.db.models import CampaignStatus, TaskStatus
from core.phone import time_zones
from tests.helpers import PROJECT
from tests.kit import make_campaign, make_task
from tests.ui.browser import open_tab, signed_in, toast
from tests.ui.conftest import Account, ServedApp, WholeNode
from tests.ui.serve_process import add_user

pytestmark = [pytest.mark.browser, pytest.mark.asterisk, pytest.mark.slow]

NY = ZoneInfo("America/New_York")
TARGET = "Smile Dental"
NUMBER = "+12125550101"  # the development PBX's receptionist (test mode sends every call there)
NODE = [sys.executable, "-m", "tests.ui.review_node"]


@pytest.fixture
def review_node(whole_node: WholeNode) -> ServedApp:
    """`opendeep serve` with every part and a doubtful analyzer, its data in a folder of the
    test's own, used by alice."""
    password = "alice-password-123"
    user_id = add_user(PROJECT, whole_node.env, "alice", password, "Alice Example")
    whole_node.start(NODE, timeout=180)
    return whole_node.app(Account("alice", password, "Alice Example", user_id))


def _callee_clock(card: Any) -> dt.time:
    """The callee's time the review card shows ("For the callee it is now Tue 10:04 EST …")."""
    text = card.locator(".od-callee-now").inner_text()
    found = re.search(r"it is now \w+ (\d\d):(\d\d) ", text)
    assert found, text
    return dt.time(int(found.group(1)), int(found.group(2)))


def _review(page: Page, timeout_ms: int) -> Any:
    card = page.locator("#inbox .od-card").filter(has_text="Analysis review")
    expect(card).to_have_count(1, timeout=timeout_ms)
    return card


def test_a_review_answered_in_words_brings_the_next_call_at_that_time(
    browser: Any, review_node: ServedApp, screenshots: Path
) -> None:
    app, alice = review_node, review_node.alice
    suffix = "pg" if app.database_url.startswith("postgresql") else "sqlite"

    async def seed(db: Database) -> tuple[int, int]:
        campaign = await make_campaign(
            db,
            alice.user_id,
            name="Cleaning",
            objective="Book a dental cleaning next week, mornings.",
        )
        task = await make_task(
            db,
            alice.user_id,
            campaign_id=campaign.id,
            target_name=TARGET,
            phone=NUMBER,
            time_zones=time_zones(NUMBER),
            instructions="Ask for a cleaning next week, in the morning.",
        )
        return campaign.id, task.id

    campaign_id, task_id = app.run(seed)  # due at once: the scheduler dials it
    page = signed_in(browser, app, alice)
    open_tab(page, "Approvals")
    card = _review(page, 180_000)
    expect(card).to_contain_text("low confidence")
    expect(page.locator("#review-accept")).to_be_visible()  # its next step could stand

    async def task_row(db: Database) -> Any:
        async with db.scope(alice.user_id) as s:
            return await s.tasks.require(task_id), list(await s.calls.list_for_task(task_id))

    task, calls = app.run(task_row)
    assert task.status is TaskStatus.ON_HOLD and len(calls) == 1

    # "That time" is two minutes on the callee's clock as the card shows it.
    shown = _callee_clock(card)
    wanted = (dt.datetime.combine(dt.date(2000, 1, 1), shown) + dt.timedelta(minutes=2)).time()
    spoken = f"{wanted.hour % 12 or 12}:{wanted.minute:02d} {'pm' if wanted.hour >= 12 else 'am'}"
    page.screenshot(path=screenshots / f"review-{suffix}-1-asked.png", full_page=True)
    page.locator("#answer-text textarea").fill(f"Call them again at {spoken}")
    page.locator("#answer-send").click()
    expect(toast(page).first).to_contain_text(f"{TARGET} will be called at", timeout=30_000)

    task, _ = app.run(task_row)
    assert task.status is TaskStatus.PENDING  # off hold at once
    due = task.due_at.astimezone(NY)
    assert (due.hour, due.minute) == (wanted.hour, wanted.minute)

    # The next call happens at that time, and is reviewed in turn.
    card = _review(page, 300_000)
    task, calls = app.run(task_row)
    assert len(calls) == 2 and calls[1].created_at >= due
    page.screenshot(path=screenshots / f"review-{suffix}-2-next-call.png", full_page=True)
    page.locator("#review-done").click()
    expect(toast(page).filter(has_text=f"{TARGET} is done.")).to_have_count(1, timeout=30_000)
    expect(page.locator("#inbox")).to_contain_text("Nothing waiting for you", timeout=15_000)

    async def read_back(db: Database) -> None:
        async with db.scope(alice.user_id) as s:
            task = await s.tasks.require(task_id)
            campaign = await s.campaigns.require(campaign_id)
            calls = await s.calls.list_for_task(task_id)
        assert task.status is TaskStatus.COMPLETED and task.attempts == 2
        assert campaign.status is CampaignStatus.COMPLETED and campaign.summary
        first, second = (c.analysis for c in calls)
        assert first["reviewed_by_owner"] and first["next_step"]["action"] == "retry_at"
        assert first["owner_note"] == f"Call them again at {spoken}"
        assert second["reviewed_by_owner"] and second["next_step"]["action"] == "done"

    app.run(read_back)
    page.context.close()
