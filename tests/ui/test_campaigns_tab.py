"""Campaigns tab: listing with progress, tasks, calls, the recording, pause / resume / cancel."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from core.db import Database
from core.db.models import CampaignStatus, TaskStatus
from tests.core.services.seed import Seeded, seed_campaign
from tests.ui.browser import open_tab, pick, signed_in
from tests.ui.conftest import ServedApp

pytestmark = pytest.mark.browser


def write_wav(path: Path, seconds: float = 1.0) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        frames = int(8000 * seconds)
        out.writeframes(
            b"".join(struct.pack("<h", int(6000 * math.sin(i / 6))) for i in range(frames))
        )


def test_campaigns_show_progress_calls_and_can_be_paused_resumed_cancelled(
    browser: Any, served_app: ServedApp
) -> None:
    app, alice = served_app, served_app.alice
    write_wav(app.recordings_dir / "campaign-test.wav")

    async def seed(db: Database) -> Seeded:
        return await seed_campaign(
            db, alice.user_id, "Browser dentists", recording_path="campaign-test.wav"
        )

    seeded = app.run(seed)
    page = signed_in(browser, app, alice)
    open_tab(page, "Campaigns")
    cards = page.locator("#campaign-list")
    expect(cards).to_contain_text("Browser dentists", timeout=15_000)
    pick(page, "campaign-picker", "Browser dentists")
    head = page.locator("#campaign-head")
    expect(head).to_contain_text("Browser dentists")
    expect(head).to_contain_text("active")
    expect(head).to_contain_text("2 of 3 tasks ended")
    expect(page.locator("#campaign-head [role=progressbar]")).to_have_attribute(
        "aria-valuenow", "67"
    )
    tasks = page.locator("#campaign-tasks")
    for text in (
        "Bright Smile Dental",
        "Park Slope Dentistry",
        "Downtown Dental",
        "achieved",
        "1:25",
        "We can do Tuesday at nine thirty.",  # the transcript, and the fact's quote
        "appointment:",
        "Booked a cleaning for Tuesday at 9:30.",
        "no answer",
    ):
        expect(tasks).to_contain_text(text)
    chart = page.locator("#campaign-chart")
    expect(chart).to_contain_text("Call results")
    expect(chart.locator(".od-bar-row")).to_have_count(2)

    audio = tasks.locator("audio")
    expect(audio).to_have_count(1)
    src = audio.get_attribute("src")
    assert src is not None and src.startswith(f"/recordings/{seeded.call_ids[0]}?")
    response = page.request.get(src)
    assert response.ok and response.body()[:4] == b"RIFF"
    duration = page.evaluate(
        """async (src) => {
            const a = new Audio(src);
            await new Promise((ok, bad) => { a.onloadedmetadata = ok; a.onerror = bad; });
            return a.duration;
        }""",
        src,
    )
    assert abs(duration - 1.0) < 0.05  # the browser really plays it

    page.locator("#campaign-pause").click()
    expect(head).to_contain_text("paused", timeout=15_000)
    expect(page.locator("#campaign-pause")).to_be_disabled()
    assert _status(app, seeded) is CampaignStatus.PAUSED

    page.locator("#campaign-resume").click()
    expect(head).to_contain_text("active", timeout=15_000)
    assert _status(app, seeded) is CampaignStatus.ACTIVE

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#campaign-cancel").click()
    page.wait_for_timeout(1000)
    assert _status(app, seeded) is CampaignStatus.ACTIVE  # "no" in the confirmation: nothing

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#campaign-cancel").click()
    expect(head).to_contain_text("cancelled", timeout=15_000)
    expect(page.get_by_text("calls not yet started were cancelled")).to_be_visible()
    for button in ("#campaign-pause", "#campaign-resume", "#campaign-cancel"):
        expect(page.locator(button)).to_be_disabled()
    assert _status(app, seeded) is CampaignStatus.CANCELLED

    async def tasks_of(db: Database) -> list[TaskStatus]:
        async with db.scope(alice.user_id) as s:
            return [t.status for t in await s.tasks.list_for_campaign(seeded.campaign_id)]

    assert app.run(tasks_of) == [TaskStatus.COMPLETED, TaskStatus.CANCELLED, TaskStatus.FAILED]
    page.context.close()


def _status(app: ServedApp, seeded: Seeded) -> CampaignStatus:
    async def read(db: Database) -> CampaignStatus:
        async with db.scope(app.alice.user_id) as s:
            return (await s.campaigns.require(seeded.campaign_id)).status

    return app.run(read)
