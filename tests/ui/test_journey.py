"""A newcomer's first hour, walked in a real browser on the app as `make run` starts it.

`make run` on the embedded defaults (no key: the rehearsal voice and rehearsal agents; the
development PBX; SQLite, or PostgreSQL through DATABASE_URL) bootstraps `admin` and rehearses
the demo campaign, which admin then finds in Campaigns. Then admin chats, confirms the plan,
approves it, watches the call live, and reads the finished campaign: both sides of the
transcript, a recording that plays, the analysis with its quote, the next step, the summary.
The database is read back at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from core.db import Database
from core.db.models import REHEARSAL_VOICE, CallOutcome, CampaignStatus, TaskStatus
from tests.ui.browser import VIEWPORT, open_tab, pick
from tests.ui.conftest import Account, ServedApp, WholeNode

pytestmark = [pytest.mark.browser, pytest.mark.asterisk, pytest.mark.slow]

DEMO = "Rehearsal: book a dental cleaning"


@dataclass(frozen=True, slots=True)
class MadeRun:
    app: ServedApp
    admin: Account
    rehearsal_output: str


@pytest.fixture
def made_run(whole_node: WholeNode) -> MadeRun:
    """`make run` in the project, its data in a folder of the test's own."""
    lines = whole_node.start(["make", "--no-print-directory", "run"], timeout=420)
    password = (whole_node.data_dir / "secrets" / "admin_password").read_text().strip()
    admin = Account("admin", password, "Admin", 1)
    return MadeRun(whole_node.app(admin), admin, "".join(lines))


def _sign_in(browser: Any, run: MadeRun) -> Page:
    context = browser.new_context(viewport=VIEWPORT, base_url=run.app.base_url)
    page: Page = context.new_page()
    page.goto("/")
    page.get_by_label("username").fill(run.admin.username)
    page.get_by_label("password").fill(run.admin.password)
    page.get_by_role("button", name="Login").click()
    expect(page.locator("#od-header")).to_contain_text("Admin", timeout=30_000)
    return page


def _refresh_until(page: Page, text: str, timeout_s: float) -> None:
    """Press Campaigns' Refresh until the campaign's head says `text`."""
    head = page.locator("#campaign-head")
    for _ in range(int(timeout_s / 3)):
        if text in (head.text_content() or ""):
            return
        page.locator("#campaigns-refresh").click()
        page.wait_for_timeout(3000)
    expect(head).to_contain_text(text)


def _audio_duration(page: Page) -> float:
    """The duration the browser reads from the first recording of the campaign shown."""
    audio = page.locator("#campaign-tasks audio").first
    expect(audio).to_be_attached(timeout=15_000)
    duration = audio.evaluate(
        """(a) => new Promise((done) => {
            if (a.readyState >= 1) return done(a.duration);
            a.addEventListener('loadedmetadata', () => done(a.duration), {once: true});
            a.addEventListener('error', () => done(-1), {once: true});
            a.load();
        })"""
    )
    return float(duration)


def test_a_newcomer_rehearses_chats_and_watches_a_real_call_through(
    browser: Any, made_run: MadeRun, screenshots: Path
) -> None:
    run = made_run
    suffix = "pg" if run.app.database_url.startswith("postgresql") else "sqlite"
    assert "step 5/5  lifecycle manager: campaign is completed" in run.rehearsal_output
    assert "REHEARSAL voice" in run.rehearsal_output  # the banner of `opendeep serve`
    page = _sign_in(browser, run)
    header = page.locator("#od-header")
    expect(header).to_contain_text("Rehearsal voice")
    expect(header).to_contain_text("Test mode")

    # The demo campaign `make run` rehearsed is admin's, with everything it produced.
    open_tab(page, "Campaigns")
    expect(page.locator("#campaign-list")).to_contain_text(DEMO, timeout=15_000)
    pick(page, "campaign-picker", DEMO)
    head = page.locator("#campaign-head")
    expect(head).to_contain_text("completed")
    expect(head).to_contain_text("1 of 3 target(s) achieved")
    tasks = page.locator("#campaign-tasks")
    for text in ("Bright Smile Dental", "Great, you're booked", "rehearsal voice", "Outcome:"):
        expect(tasks).to_contain_text(text)
    assert _audio_duration(page) > 1.0
    page.screenshot(path=screenshots / f"journey-{suffix}-1-demo-campaign.png", full_page=True)

    # Chat → plan → confirm.
    open_tab(page, "Chat")
    box = page.locator("#chat-input textarea")
    chat = page.locator("#chat")
    box.fill("Book me a dental cleaning next week, mornings")
    box.press("Enter")
    expect(chat).to_contain_text("Whom should I call?", timeout=30_000)
    box.fill("Smile Dental +1 212 555 0101")
    page.locator("#chat-send").click()
    expect(page.locator("#plan-card")).to_contain_text("Smile Dental", timeout=30_000)
    page.locator("#plan-confirm").click()
    expect(page.get_by_text("Approve it in the Approvals tab")).to_be_visible(timeout=30_000)
    page.screenshot(path=screenshots / f"journey-{suffix}-2-plan.png", full_page=True)

    # Approve → the call happens, live.
    open_tab(page, "Approvals")
    expect(page.locator("#inbox")).to_contain_text("Plan approval", timeout=15_000)
    page.locator("#plan-approve").click()
    expect(page.get_by_text("Decision sent to the orchestrator.")).to_be_visible(timeout=30_000)
    open_tab(page, "Live calls")
    live = page.locator("#live-calls")
    expect(live).to_contain_text("Smile Dental", timeout=60_000)
    expect(live).to_contain_text("rehearsal voice")
    expect(live).to_contain_text("I'm calling about this: Book me a dental", timeout=30_000)
    expect(live).to_contain_text("Doctor Smith's dental office", timeout=30_000)
    page.screenshot(path=screenshots / f"journey-{suffix}-3-live-call.png", full_page=True)
    expect(live).to_contain_text("No calls in progress", timeout=90_000)

    # The finished campaign: both sides, a recording that plays, the analysis, the next step.
    open_tab(page, "Campaigns")
    page.locator("#campaigns-refresh").click()
    pick(page, "campaign-picker", "Book me a dental cleaning")
    _refresh_until(page, "completed", timeout_s=90)
    expect(head).to_contain_text("1 of 1 target(s) achieved")
    for text in (
        "Smile Dental",
        "AI",
        "Callee",
        "Doctor Smith's dental office, this is Anna speaking.",
        "Do you have anything available?",
        "We have an opening Tuesday at nine in the morning.",
        "achieved",
        "Next step:",
        "Great, you're booked. Goodbye.",
        "rehearsal voice",
    ):
        expect(tasks).to_contain_text(text)
    expect(tasks).not_to_contain_text("technical failure")
    assert _audio_duration(page) > 5.0
    page.screenshot(path=screenshots / f"journey-{suffix}-4-campaign-done.png", full_page=True)
    page.context.close()

    async def read_back(db: Database) -> None:
        async with db.scope(run.admin.user_id) as s:
            (mine,) = [c for c in await s.campaigns.list() if c.name != DEMO]
            assert mine.status is CampaignStatus.COMPLETED and mine.summary
            (task,) = await s.tasks.list_for_campaign(mine.id)
            assert task.status is TaskStatus.COMPLETED and task.last_outcome == "achieved"
            (call,) = await s.calls.list_for_task(task.id)
            assert call.outcome is CallOutcome.ANSWERED and call.voice == REHEARSAL_VOICE
            assert call.dialed_number == "+12125550101" and call.recording_path
            roles = {turn["role"] for turn in call.transcript}
            assert {"agent", "callee"} <= roles, roles
            assert call.analysis["outcome"] == "achieved"
            assert any("booked" in f.get("quote", "") for f in call.analysis["facts"])

    run.app.run(read_back)
