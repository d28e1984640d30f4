"""Every tab with realistic data, saved to test-artifacts/screenshots/<tab>.png for review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from core.db import Database
from core.db.models import CampaignStatus
from core.services import add_number
from tests.core.services.seed import seed_campaign, seed_plan_approval, seed_question
from tests.ui.browser import open_tab, signed_in
from tests.ui.conftest import ServedApp
from tests.ui.test_campaigns_tab import write_wav

pytestmark = pytest.mark.browser

TABS = {
    "Chat": "#chat",
    "Campaigns": "#campaign-tasks .od-task",
    "Live calls": "#live-calls .od-live",
    "Approvals": "#inbox .od-urgent",
    "Do-Not-Call": "#dnc-table",
    "Settings": "#pref-save",
}


def test_every_tab_renders(browser: Any, served_app: ServedApp, screenshots: Path) -> None:
    app, carol = served_app, served_app.carol
    write_wav(app.recordings_dir / "carol-1.wav")

    async def seed(db: Database) -> None:
        uid = carol.user_id
        await seed_campaign(db, uid, "Plumber quotes", status=CampaignStatus.PAUSED)
        seeded = await seed_campaign(
            db, uid, "Dentist cleaning", live=True, recording_path="carol-1.wav"
        )
        await seed_question(
            db,
            uid,
            seeded,
            "They offer Tuesday 9:30 or Wednesday 8:00 — which one?",
            expires_in=240,
        )
        await seed_plan_approval(db, uid, seeded)
        await add_number(db, uid, "2125550190", reason="asked not to be called", region="US")
        await add_number(db, uid, "+44 20 7946 0958", reason="wrong number", region="US")

    app.run(seed)
    page = signed_in(browser, app, carol)
    for tab, ready in TABS.items():
        open_tab(page, tab)
        expect(page.locator(ready).first).to_be_visible(timeout=15_000)
        page.wait_for_timeout(700)  # let transitions settle
        name = tab.lower().replace(" ", "-")
        page.screenshot(path=screenshots / f"{name}.png", full_page=True)
        assert (screenshots / f"{name}.png").stat().st_size > 10_000
    page.context.close()
