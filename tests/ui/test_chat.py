"""Chat on the real service without keys (a labelled rehearsal); and, with the real graphs on
rehearsal models, chat → plan card → confirm → approve → the campaign appears."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from app.node import Node, PartsWanted
from core.db import Database
from core.db.migrate import upgrade
from core.settings import Settings
from tests.helpers import free_port
from tests.kit import make_user
from tests.ui.browser import open_tab, signed_in
from tests.ui.conftest import Account, ServedApp

pytestmark = pytest.mark.browser


def test_served_without_keys_chat_is_a_labelled_rehearsal(
    browser: Any, served_app: ServedApp
) -> None:
    """`opendeep serve` wires the planning assistant; with no provider key it says plainly that
    it runs as a rehearsal, and still answers."""
    page = signed_in(browser, served_app, served_app.alice)
    expect(page.locator("#chat-not-configured")).to_have_count(0)
    expect(page.locator("#chat-notice")).to_contain_text("Rehearsal")
    page.locator("#chat-input textarea").fill("Call three dentists for me")
    page.locator("#chat-send").click()
    chat = page.locator("#chat")
    expect(chat).to_contain_text("Call three dentists for me", timeout=15_000)
    expect(chat).to_contain_text("[rehearsal]", timeout=30_000)
    page.context.close()


class InProcessApp:
    """The real node with its graphs and UI only, as `opendeep serve --no-telephony --no-media
    --no-scheduler` runs it, on a loop of its own (so the sync Playwright API can drive the
    browser from the test's thread)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"sqlite+aiosqlite:///{root / 'opendeep.db'}"
        rehearsal = "scripted:rehearsal"
        self.settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=self.url,
            data_dir=root,
            ui_port=self.port,
            app_test_mode=True,
            assistant_model=rehearsal,
            orchestrator_model=rehearsal,
            analyzer_model=rehearsal,
            lifecycle_model=rehearsal,
            search_model=rehearsal,
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.node: Node | None = None
        self.db: Database | None = None

    def call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=60)

    def start(self) -> Account:
        self.thread.start()

        async def start() -> Account:
            await asyncio.to_thread(upgrade, self.url)
            self.db = Database(self.url)
            uid = await make_user(self.db, "dana", display_name="Dana Chat")
            wanted = PartsWanted(telephony=False, media=False, scheduler=False)
            self.node = Node(self.settings, self.db, wanted)
            await self.node.start()
            return Account("dana", "dana-password-123", "Dana Chat", uid)

        account: Account = self.call(start())
        return account

    def stop(self) -> None:
        async def stop() -> None:
            if self.node is not None:
                for part in reversed(self.node.parts):
                    await part.stop()
            if self.db is not None:
                await self.db.dispose()

        self.call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture
def scripted_app(tmp_path: Path) -> Iterator[tuple[InProcessApp, Account]]:
    app = InProcessApp(tmp_path)
    account = app.start()
    yield app, account
    app.stop()


def test_chat_plan_confirm_approve_and_the_campaign_appears(
    browser: Any, scripted_app: tuple[InProcessApp, Account], screenshots: Path
) -> None:
    app, dana = scripted_app
    base = f"http://127.0.0.1:{app.port}"
    served = ServedApp(base, app.url, app.root, dana, dana, dana)
    page = signed_in(browser, served, dana)
    expect(page.locator("#chat-not-configured")).to_have_count(0)
    expect(page.locator("#chat-notice")).to_contain_text("Rehearsal")
    box = page.locator("#chat-input textarea")
    chat = page.locator("#chat")
    box.fill("Book me a dental cleaning next week, mornings")
    box.press("Enter")
    expect(chat).to_contain_text("Whom should I call?", timeout=30_000)
    expect(page.locator("#plan-confirm")).to_be_hidden()
    box.fill("Smile Dental +1 212 555 0101. Park Dentistry (212) 555-0102. Stop after the first.")
    page.locator("#chat-send").click()
    expect(chat).to_contain_text("Nothing is dialled until you approve it", timeout=30_000)
    card = page.locator("#plan-card")
    expect(card).to_contain_text("Smile Dental")
    expect(card).to_contain_text("+1 212-555-0102")
    expect(card).to_contain_text("stop when one call succeeds")
    page.screenshot(path=screenshots / "chat-with-plan.png")
    page.locator("#plan-confirm").click()
    expect(page.get_by_text("Approve it in the Approvals tab")).to_be_visible(timeout=30_000)
    expect(page.locator("#plan-confirm")).to_be_hidden()

    open_tab(page, "Approvals")
    inbox = page.locator("#inbox")
    expect(inbox).to_contain_text("Plan approval", timeout=15_000)
    expect(inbox).to_contain_text("Park Dentistry")
    page.wait_for_timeout(1500)  # let the toast and the refresh settle
    page.screenshot(path=screenshots / "approvals-plan.png")
    page.locator("#plan-approve").click()
    expect(page.get_by_text("Decision sent to the orchestrator.")).to_be_visible(timeout=30_000)
    expect(inbox).to_contain_text("Nothing waiting for you")

    open_tab(page, "Campaigns")
    head = page.locator("#campaign-head")
    expect(head).to_contain_text("Book me a dental cleaning", timeout=15_000)
    expect(head).to_contain_text("active")
    expect(head).to_contain_text("0 of 2 tasks ended")
    expect(page.locator("#campaign-tasks")).to_contain_text("Park Dentistry")
    page.context.close()
