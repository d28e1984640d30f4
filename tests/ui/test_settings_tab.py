"""Settings tab: a clear error for a bad value, nothing stored; then a valid save."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from core.db import Database
from tests.core.services.seed import seed_campaign
from tests.ui.browser import open_tab, signed_in
from tests.ui.conftest import ServedApp

pytestmark = pytest.mark.browser


def _stored(app: ServedApp) -> dict[str, Any]:
    async def read(db: Database) -> dict[str, Any]:
        async with db.users() as users:
            profile = await users.profile(app.alice.user_id)
        assert profile is not None
        return {**profile.preferences, "owner_phone": profile.owner_phone}

    return app.run(read)


def test_a_bad_value_is_explained_and_a_good_one_saved(browser: Any, served_app: ServedApp) -> None:
    app = served_app
    page = signed_in(browser, app, app.alice)
    open_tab(page, "Settings")
    max_calls = page.locator("#pref-max-calls input")
    expect(max_calls).to_have_value("4", timeout=15_000)
    expect(page.locator("#pref-test-mode input")).to_be_checked()
    expect(page.locator("#pref-test-mode input")).to_be_disabled()  # the node runs in test mode

    max_calls.fill("9")
    page.locator("#pref-start textarea").fill("7:00am")
    page.locator("#pref-disclosure textarea").fill("Hello, calling for {owner}.")
    page.locator("#pref-time-zone textarea").fill("Mars/Olympus")
    page.locator("#pref-caller-id textarea").fill("+12125550101")
    page.locator("#pref-owner-phone textarea").fill("555")
    page.locator("#pref-save").click()
    result = page.locator("#pref-result")
    expect(result).to_contain_text("Nothing was saved", timeout=15_000)
    expect(result).to_contain_text(
        "Max concurrent calls: must be between 1 and 4 (this node's MAX_CONCURRENT_CALLS), got 9"
    )
    expect(result).to_contain_text("Calling window start: '7:00am' is not a time")
    expect(result).to_contain_text("AI disclosure line: must tell the callee")
    expect(result).to_contain_text("Your time zone: 'Mars/Olympus' is not a time zone")
    expect(result).to_contain_text(
        "Caller ID: +12125550101 is not a caller ID this server may send; its choices: "
        "+12125550100, +16465550123"
    )
    expect(result).to_contain_text("Your phone number: '555' is not a valid phone number")
    assert "max_concurrent_calls" not in _stored(app)

    max_calls.fill("2")
    page.locator("#pref-start textarea").fill("09:00")
    page.locator("#pref-end textarea").fill("17:30")
    page.locator("#pref-disclosure textarea").fill("Hi, this is an AI assistant for {owner}.")
    page.locator("#pref-redirect textarea").fill("(212) 555-0102")
    page.locator("#pref-time-zone textarea").fill("America/New_York")
    page.locator("#pref-caller-id textarea").fill("(646) 555-0123")
    page.locator("#pref-owner-phone textarea").fill("(212) 555-0115")
    page.locator("#pref-save").click()
    expect(result).to_contain_text("Saved.", timeout=15_000)
    expect(page.locator("#pref-owner-phone textarea")).to_have_value("+12125550115")
    expect(page.locator("#pref-caller-id textarea")).to_have_value("+16465550123")
    expect(page.locator("#pref-redirect textarea")).to_have_value("+12125550102")
    # The header shows what the dispatcher enforces today: the node's own test number.
    expect(page.locator("#od-header")).to_contain_text("calls go to +1 212-555-0101")
    stored = _stored(app)
    assert stored["max_concurrent_calls"] == 2
    assert (stored["calling_window_start"], stored["calling_window_end"]) == (
        "09:00:00",
        "17:30:00",
    )
    assert stored["test_redirect_number"] == "+12125550102"
    assert stored["time_zone"] == "America/New_York"
    assert stored["caller_id"] == "+16465550123"
    assert stored["owner_phone"] == "+12125550115"

    page.reload()
    open_tab(page, "Settings")
    expect(page.locator("#pref-max-calls input")).to_have_value("2", timeout=15_000)
    expect(page.locator("#pref-end textarea")).to_have_value("17:30")

    # Times are now shown in New York time (EST or EDT), no longer in UTC.
    async def seed(db: Database) -> None:
        await seed_campaign(db, app.alice.user_id, "Zone check")

    app.run(seed)
    open_tab(page, "Campaigns")
    card = page.locator("#campaign-list .od-card", has_text="Zone check")
    expect(card).to_contain_text(
        re.compile(r"Created \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T"), timeout=15_000
    )
    expect(card).not_to_contain_text("UTC")
    page.context.close()
