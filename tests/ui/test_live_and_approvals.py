"""Live calls refresh by themselves; a live-call question answered in Approvals reaches the
waiting call within a second; a plan decision is recorded."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from core.db import Database, utcnow  # noqa: TID251  (a turn of a call live in a served app)
from core.db.models import FeedbackStatus
from core.domain import FeedbackKind, TranscriptTurn
from core.settings import Settings
from media.call_store import CallStore
from tests.core.services.seed import Seeded, seed_campaign, seed_plan_approval
from tests.ui.browser import open_tab, signed_in, toast
from tests.ui.conftest import ServedApp

pytestmark = pytest.mark.browser


def test_live_calls_show_the_transcript_as_it_grows(browser: Any, served_app: ServedApp) -> None:
    app, alice = served_app, served_app.alice

    async def seed(db: Database) -> Seeded:
        return await seed_campaign(db, alice.user_id, "Live dentists", live=True)

    seeded = app.run(seed)
    page = signed_in(browser, app, alice)
    open_tab(page, "Live calls")
    live = page.locator("#live-calls")
    expect(live).to_contain_text("Park Slope Dentistry", timeout=15_000)
    expect(live).to_contain_text("Park Slope Dentistry, please hold.")

    async def speak(db: Database) -> None:
        async with db.scope(alice.user_id) as s:
            turn = TranscriptTurn(role="callee", text="Thanks for holding, go ahead.", at=utcnow())
            await s.calls.append_turns(seeded.call_ids[-1], [turn])

    app.run(speak)
    expect(live).to_contain_text("Thanks for holding, go ahead.", timeout=5_000)  # no reload
    page.context.close()


def test_a_live_question_answered_in_approvals_reaches_the_waiting_call(
    browser: Any, served_app: ServedApp
) -> None:
    app, alice = served_app, served_app.alice
    seeded = app.run(lambda db: seed_campaign(db, alice.user_id, "Question dentists", live=True))
    settings = Settings(_env_file=None, database_url=app.database_url)  # type: ignore[call-arg]
    call_id = seeded.call_ids[-1]
    asked = threading.Event()
    received: dict[str, Any] = {}

    def call_side() -> None:
        """The bridge's side of `request_user_feedback`: ask, then wait on the row."""

        async def ask_and_wait(db: Database) -> str | None:
            store = CallStore(db, settings, alice.user_id, call_id)
            received["id"] = await store.ask_owner("Tuesday 9:30 or Wednesday 8:00?", 300)
            asked.set()
            return await store.wait_answer(received["id"], 300)

        received["answer"] = app.run(ask_and_wait)
        # Compared with the answer's time as the served app stored it, on its real clock.
        received["at"] = time.time()  # noqa: TID251

    waiter = threading.Thread(target=call_side, daemon=True)
    waiter.start()
    assert asked.wait(30)
    question = received["id"]

    page = signed_in(browser, app, alice)
    expect(page.locator("#od-header")).to_contain_text("waiting in Approvals")
    open_tab(page, "Approvals")
    card = page.locator(f'#inbox [data-item-id="{question}"]')
    expect(card).to_contain_text("Tuesday 9:30 or Wednesday 8:00?", timeout=15_000)
    expect(card).to_contain_text("Park Slope Dentistry")
    expect(card).not_to_contain_text("uuid")  # the bridge's bookkeeping stays out of sight
    expect(card).to_have_class("od-card od-urgent")
    countdown = card.locator(".od-countdown")
    first = countdown.inner_text()
    assert first.endswith("left to answer")
    expect(countdown).not_to_have_text(first, timeout=5_000)  # it counts down in the page
    # The most urgent item is already picked in the answer panel.
    expect(page.locator("#inbox-picker input")).to_have_value(
        f"#{question} · Live call question · Park Slope Dentistry"
    )
    page.locator("#answer-text textarea").fill("Tuesday at 9:30 please")
    assert waiter.is_alive()
    page.locator("#answer-send").click()
    expect(page.get_by_text("Answer sent to the call.")).to_be_visible(timeout=15_000)
    expect(card).to_have_count(0)
    waiter.join(timeout=10)
    assert received["answer"] == "Tuesday at 9:30 please"

    async def row(db: Database) -> Any:
        async with db.scope(alice.user_id) as s:
            return await s.feedback.require(question)

    item = app.run(row)
    assert item.status is FeedbackStatus.ANSWERED and item.answered_at is not None
    delay = received["at"] - item.answered_at.timestamp()
    assert 0 <= delay < 1.0, f"the waiting call got the answer {delay:.2f} s after it was stored"
    page.context.close()


def test_a_plan_decision_without_a_waiting_graph_is_reported(
    browser: Any, served_app: ServedApp
) -> None:
    app, alice = served_app, served_app.alice

    async def seed(db: Database) -> int:
        seeded = await seed_campaign(db, alice.user_id, "Plan dentists")
        return await seed_plan_approval(db, alice.user_id, seeded)

    item_id = app.run(seed)
    page = signed_in(browser, app, alice)
    open_tab(page, "Approvals")
    card = page.locator(f'#inbox [data-item-id="{item_id}"]')
    expect(card).to_contain_text("Bright Smile Dental", timeout=15_000)
    expect(card).to_contain_text("stop when one call succeeds")
    page.locator("#inbox-picker input").click()
    page.get_by_role("option").filter(has_text=f"#{item_id} · Plan approval").click()
    page.locator("#plan-edit").click()
    expect(page.get_by_text("Say what to change in the plan")).to_be_visible(timeout=10_000)
    page.locator("#plan-note textarea").fill("Only call Bright Smile first")
    page.locator("#plan-edit").click()
    # This approval was written straight into the table, with no orchestrator run behind it:
    # the owner is told nothing waits for it, and the item is not silently dropped.
    expect(page.get_by_text("nothing is waiting for this answer any more")).to_be_visible(
        timeout=10_000
    )

    async def answer(db: Database) -> Any:
        async with db.scope(alice.user_id) as s:
            return (await s.feedback.require(item_id)).status

    assert app.run(answer) in (FeedbackStatus.PENDING, FeedbackStatus.ANSWERED)
    page.context.close()


def test_call_me_in_from_the_live_card_asks_for_a_phone_then_calls_the_owner_in(
    browser: Any, served_app: ServedApp, screenshots: Path
) -> None:
    """*Call me in* clicked in Chromium: refused with the way out while the user has no phone
    number, then stored for the call's node to ring them (the PBX side is
    tests/integration/test_voice_handover.py)."""
    app, alice = served_app, served_app.alice
    app.run(lambda db: seed_campaign(db, alice.user_id, "Take-over dentists", live=True))
    page = signed_in(browser, app, alice)
    open_tab(page, "Live calls")
    expect(page.locator("#live-calls")).to_contain_text("Park Slope Dentistry", timeout=15_000)
    button = page.locator("#live-take-over")
    expect(button).to_be_visible()
    button.click()
    expect(toast(page).filter(has_text="phone number")).to_have_count(1, timeout=10_000)

    async def phone(db: Database) -> None:
        async with db.users() as users:
            await users.set_owner_phone(alice.user_id, "+12125550115")

    app.run(phone)
    button.click()
    expect(page.locator("#live-note-result")).to_contain_text("Calling you in", timeout=10_000)
    page.screenshot(path=screenshots / "live-call-me-in.png", full_page=True)

    async def requests(db: Database) -> list[Any]:
        # Every live call of Alice's: the card's picker may show another test's live call of
        # hers first (the app is shared by this file's tests).
        async with db.scope(alice.user_id) as s:
            live = [call.id for call in await s.calls.list_live()]
        async with db.system() as system:
            rows = await system.undelivered_notes([(alice.user_id, c) for c in live])
        return [r for r in rows if r.kind is FeedbackKind.TAKE_OVER]

    [request] = app.run(requests)
    assert request.user_id == alice.user_id
    page.context.close()
