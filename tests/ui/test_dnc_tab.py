"""Do-Not-Call tab: add, remove, and a CSV import that is all-or-nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from core.db import Database
from core.services import list_numbers
from tests.ui.browser import open_tab, signed_in
from tests.ui.conftest import ServedApp

pytestmark = pytest.mark.browser


def _numbers(app: ServedApp) -> set[str]:
    async def read(db: Database) -> set[str]:
        return {e.phone_e164 for e in await list_numbers(db, app.alice.user_id)}

    return app.run(read)


def test_add_remove_and_import(browser: Any, served_app: ServedApp, tmp_path: Path) -> None:
    app = served_app
    before = _numbers(app)
    page = signed_in(browser, app, app.alice)
    open_tab(page, "Do-Not-Call")
    table = page.locator("#dnc-table")

    page.locator("#dnc-number textarea").fill("(212) 555-0150")
    page.locator("#dnc-reason textarea").fill("asked on the phone")
    page.locator("#dnc-add").click()
    expect(table).to_contain_text("+1 212-555-0150", timeout=15_000)
    expect(table).to_contain_text("asked on the phone")
    expect(page.locator("#dnc-number textarea")).to_have_value("")
    assert "+12125550150" in _numbers(app)

    page.locator("#dnc-number textarea").fill("12")
    page.locator("#dnc-add").click()
    expect(page.get_by_text("'12' is not a valid phone number")).to_be_visible(timeout=10_000)

    page.locator("#dnc-number textarea").fill("+1 212 555 0150")
    page.locator("#dnc-remove").click()
    expect(page.get_by_text("may be called again")).to_be_visible(timeout=10_000)
    expect(table.get_by_text("+1 212-555-0150")).to_have_count(0)
    assert "+12125550150" not in _numbers(app)

    bad = tmp_path / "bad.csv"
    bad.write_text("phone,reason\n2125550161,a\nnot a number,b\n2125550162,c\n99,d\n2125550163,e\n")
    page.get_by_role("button", name="Import a CSV file").click()
    page.locator("#dnc-file input[type=file]").set_input_files(str(bad))
    page.locator("#dnc-import").click()
    report = page.locator("#dnc-report")
    expect(report).to_contain_text("Nothing was imported", timeout=15_000)
    expect(report).to_contain_text("line 3: 'not a number' is not a valid phone number")
    expect(report).to_contain_text("line 5: '99' is not a valid phone number")
    expect(report.locator("li")).to_have_count(2)
    assert _numbers(app) == before  # not even the good lines

    good = tmp_path / "good.csv"
    good.write_text("2125550161,a\n(212) 555-0162\n2125550161,again\n2125550163\n")
    page.locator("#dnc-file input[type=file]").set_input_files(str(good))
    page.locator("#dnc-import").click()
    expect(report).to_contain_text(
        "3 numbers added, 1 repeated in the file (counted once)", timeout=15_000
    )
    for number in ("+1 212-555-0161", "+1 212-555-0162", "+1 212-555-0163"):
        expect(table).to_contain_text(number)
    assert {"+12125550161", "+12125550162", "+12125550163"} <= _numbers(app)
    page.context.close()
