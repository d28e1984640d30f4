"""A check-in answered in the Approvals tab moves the campaign at once (served app, browser)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from core.db import Database
from core.db.models import CampaignStatus, FeedbackKind, TaskStatus
from tests.core.services.seed import seed_campaign
from tests.kit import make_feedback
from tests.ui.browser import open_tab, pick, signed_in, toast
from tests.ui.conftest import ServedApp

pytestmark = pytest.mark.browser


def test_check_in_buttons_and_words_steer_the_campaign(browser: Any, served_app: ServedApp) -> None:
    app, alice = served_app, served_app.alice

    async def seed(db: Database) -> tuple[int, int, int]:
        seeded = await seed_campaign(db, alice.user_id, "Check-in dentists")
        first, second = [
            await make_feedback(
                db,
                alice.user_id,
                kind=FeedbackKind.CHECK_IN,
                question=f"'Check-in dentists' has been running a while ({n}). Keep going?",
                campaign_id=seeded.campaign_id,
            )
            for n in (1, 2)
        ]
        return seeded.campaign_id, first.id, second.id

    campaign_id, first, second = app.run(seed)
    page = signed_in(browser, app, alice)
    open_tab(page, "Approvals")
    expect(page.locator(f'#inbox [data-item-id="{first}"]')).to_contain_text(
        "Keep going?", timeout=15_000
    )
    pick(page, "inbox-picker", f"#{first} · Check-in")
    expect(page.locator("#check-in-pause")).to_be_visible()
    expect(page.locator("#review-retry")).to_be_hidden()
    page.locator("#check-in-pause").click()
    expect(toast(page).filter(has_text="'Check-in dentists' is paused")).to_have_count(
        1, timeout=30_000
    )

    # Words that are no command change the instructions of the calls still to make.
    pick(page, "inbox-picker", f"#{second} · Check-in")
    expect(page.locator("#check-in-pause")).to_be_visible()
    page.wait_for_timeout(1500)  # the pick clears the answer box when its answer comes back
    page.locator("#answer-text textarea").fill("Also ask whether they take Aetna.")
    page.locator("#answer-send").click()
    expect(toast(page).filter(has_text="follow your new instructions")).to_have_count(
        1, timeout=30_000
    )

    async def read_back(db: Database) -> None:
        async with db.scope(alice.user_id) as s:
            campaign = await s.campaigns.require(campaign_id)
            tasks = await s.tasks.list_for_campaign(campaign_id)
        assert campaign.status is CampaignStatus.PAUSED
        assert campaign.status_reason and "Paused by you at a check-in" in campaign.status_reason
        open_tasks = [t for t in tasks if t.status is TaskStatus.PENDING]
        assert open_tasks and all("take Aetna" in t.instructions for t in open_tasks)

    app.run(read_back)
    page.context.close()
