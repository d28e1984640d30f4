"""Signing in through the login page in a real browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.ui.browser import VIEWPORT
from tests.ui.conftest import ServedApp

pytestmark = pytest.mark.browser


def test_a_wrong_password_is_refused_and_the_right_one_signs_in(
    browser: Any, served_app: ServedApp, screenshots: Path
) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(served_app.base_url)
    expect(page.get_by_text("Sign in to OpenDeep")).to_be_visible(timeout=30_000)
    page.screenshot(path=screenshots / "login.png")
    page.get_by_label("username").fill("alice")
    page.get_by_label("password").fill("not-her-password")
    page.get_by_role("button", name="Login").click()
    expect(page.get_by_text("Incorrect Credentials")).to_be_visible(timeout=15_000)
    expect(page.locator("#od-header")).to_have_count(0)
    page.get_by_label("username").fill("alice")  # the form is cleared after a refusal
    page.get_by_label("password").fill(served_app.alice.password)
    page.get_by_role("button", name="Login").click()
    header = page.locator("#od-header")
    expect(header).to_contain_text("Signed in as Alice Example", timeout=30_000)
    expect(header).to_contain_text("Test mode")
    page.close()


def test_a_locked_name_is_told_how_long_to_wait(browser: Any, served_app: ServedApp) -> None:
    # A name of its own: the lock must not reach the other tests' accounts.
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(served_app.base_url)
    expect(page.get_by_text("Sign in to OpenDeep")).to_be_visible(timeout=30_000)
    for n in range(5):
        page.get_by_label("username").fill("mallory")
        page.get_by_label("password").fill(f"guess-{n}")
        with page.expect_response(lambda r: r.url.endswith("/login")):
            page.get_by_role("button", name="Login").click()
    expect(page.get_by_role("alert")).to_have_text(
        re.compile(r"too many failed sign-ins; try again in (30|29) s"), timeout=15_000
    )
    page.close()
