"""Activity tab: the signed-in user's own decisions, newest first — never another user's."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from core.db import Database
from core.services import add_number, remove_number
from tests.ui.browser import open_tab, signed_in
from tests.ui.conftest import ServedApp

pytestmark = pytest.mark.browser


def test_each_user_sees_only_their_own_decisions(browser: Any, served_app: ServedApp) -> None:
    app = served_app

    async def decide(db: Database) -> None:
        uid = app.alice.user_id
        await add_number(db, uid, "2125550188", reason="alice audit reason", region="US")
        await remove_number(db, uid, "2125550188", region="US")

    app.run(decide)
    page = signed_in(browser, app, app.alice)
    open_tab(page, "Activity")
    table = page.locator("#activity-table")
    expect(table).to_contain_text("took a number off the Do-Not-Call list", timeout=15_000)
    rows = table.locator("tbody tr")
    # Newest first: the removal, then the addition with its reason.
    expect(rows.filter(has_text="+1 212-555-0188").first).to_contain_text("took a number off")
    added = rows.filter(has_text="alice audit reason")
    expect(added).to_contain_text("put a number on the Do-Not-Call list")
    expect(added).to_contain_text("alice")
    page.context.close()

    page = signed_in(browser, app, app.bob)
    open_tab(page, "Activity")
    expect(page.locator("#activity-table")).to_contain_text(
        "No decisions recorded yet", timeout=15_000
    )
    html = page.content()
    assert "555-0188" not in html and "alice audit reason" not in html
    page.context.close()
