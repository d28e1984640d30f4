"""The app served by the real service code (`opendeep serve`) on 127.0.0.1, and a real
headless Chromium driven by Playwright to use it."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from core.db import Database
from tests.helpers import free_port
from tests.kit import not_tested
from tests.ui.serve_process import add_user, start_ui

CHROMIUM = os.environ.get("OPENDEEP_TEST_CHROMIUM") or "/usr/bin/chromium"  # tests/chromium.sh
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    password: str
    display_name: str
    user_id: int


@dataclass(frozen=True, slots=True)
class ServedApp:
    base_url: str
    database_url: str
    data_dir: Path
    alice: Account
    bob: Account
    carol: Account  # only for the screenshots, so other tests' data stays out of them

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    def run(self, work: Callable[[Database], Awaitable[T]]) -> T:
        """Run `work` against the app's database from the test (seeding, checking).

        It runs on a thread of its own: sync Playwright keeps an event loop on the test's.
        """

        async def main() -> T:
            db = Database(self.database_url)
            try:
                return await work(db)
            finally:
                await db.dispose()

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, main()).result(timeout=60)


@pytest.fixture(scope="session")
def served_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    root = tmp_path_factory.mktemp("served")
    data = root / "data"
    port = free_port()
    database_url = f"sqlite+aiosqlite:///{data / 'opendeep.db'}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data),
        "RECORDINGS_DIR": str(data / "recordings"),
        "UI_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "LOG_FORMAT": "console",
        "APP_TEST_MODE": "true",
        "MAX_CONCURRENT_CALLS": "4",
        "CALLER_ID_CHOICES": "+12125550100,+16465550123",
    }
    accounts = []
    for name, display in (
        ("alice", "Alice Example"),
        ("bob", "Bob Other"),
        ("carol", "Carol Demo"),
    ):
        password = f"{name}-password-123"
        user_id = add_user(root, env, name, password, display)
        accounts.append(Account(name, password, display, user_id))
    (data / "recordings").mkdir(parents=True, exist_ok=True)
    proc = start_ui(root, env)
    try:
        yield ServedApp(f"http://127.0.0.1:{port}", database_url, data, *accounts)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        (root / "server.log").write_text(out or "")
        assert "Traceback" not in (out or ""), out


def _need_chromium() -> None:
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return
    not_tested(
        "IN A BROWSER",
        f"browser tests need Chromium at {CHROMIUM}",
        "`tests/chromium.sh ensure` (`make test` runs it)",
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Per module: sync Playwright keeps an event loop running on the main thread while it is
    # open, and the `db` fixture's migrations (asyncio.run) cannot start under it.
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
