"""Small helpers for driving the OpenDeep UI with Playwright."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.ui.conftest import Account, ServedApp

VIEWPORT = {"width": 1280, "height": 900}


def signed_in(browser: Any, app: ServedApp, account: Account) -> Page:
    """A fresh browser context signed in as `account`, on the app's page, fully loaded."""
    context = browser.new_context(viewport=VIEWPORT, base_url=app.base_url)
    response = context.request.post(
        "/login", form={"username": account.username, "password": account.password}
    )
    assert response.ok, response.text()
    page: Page = context.new_page()
    page.goto("/")
    expect(page.locator("#od-header")).to_contain_text(account.display_name, timeout=30_000)
    return page


def open_tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()


def pick(page: Page, dropdown_id: str, option: str) -> None:
    """Choose the option containing `option` in a Gradio dropdown."""
    page.locator(f"#{dropdown_id} input").click()
    page.get_by_role("option").filter(has_text=option).first.click()


def toast(page: Page) -> Any:
    return page.locator(".toast-body")
