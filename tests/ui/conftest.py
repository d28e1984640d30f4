"""The app served by the real service code (`opendeep serve`) on 127.0.0.1, a whole node
started by a test of its own, and a real headless Chromium driven by Playwright to use them."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from core.db import Database
from core.settings import Settings
from tests.conftest import _reset_postgres
from tests.helpers import PROJECT, free_port, wait_for_line
from tests.kit import not_tested
from tests.kit.devpbx import require_devpbx
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


# Variables of a surrounding `make` (its jobserver), keys that would make a run real, and the
# model settings (a test names the one it scripts).
_DROP = {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "OPENAI_API_KEY", "GOOGLE_API_KEY"}
_DROP_PREFIXES = ("OPENAI_", "GOOGLE_", "REALTIME_", "ASSISTANT_", "ANALYZER_", "ORCHESTRATOR_")


@dataclass
class WholeNode:
    """A node with every part (telephony on the development PBX, media, scheduler, UI), its
    data in a folder of the test's own; `env` may be changed until `start`."""

    data_dir: Path
    database_url: str
    port: int
    env: dict[str, str]
    log: Path
    output: list[str] = field(default_factory=list)
    _proc: subprocess.Popen[str] | None = None

    @classmethod
    def prepare(cls, folder: Path, database_url: str | None = None) -> WholeNode:
        """Its settings, nothing started; SQLite in `folder` unless `database_url` is given."""
        data = folder / "data"
        database_url = database_url or f"sqlite+aiosqlite:///{data / 'opendeep.db'}"
        port = free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in _DROP and not k.startswith(_DROP_PREFIXES) and not k.endswith("_MODEL")
        }
        env.update(
            {
                "DATA_DIR": str(data),
                "DATABASE_URL": database_url,
                "UI_PORT": str(port),
                # One port per media worker (one per core by default).
                "AUDIOSOCKET_PORT": str(
                    free_port(Settings(_env_file=None).effective_media_workers)
                ),
                "LOG_FORMAT": "console",
                "GRADIO_ANALYTICS_ENABLED": "False",
                # A journey must pass at any hour: the callee-local calling window (8 am–9 pm by
                # default) is a documented setting, opened all day here so the wall clock
                # decides nothing. The gate's window itself is tested with an injected clock.
                "CALLING_WINDOW_START": "00:00",
                "CALLING_WINDOW_END": "23:59:59",
            }
        )
        return cls(data, database_url, port, env, folder / "node.log")

    def start(self, command: list[str], *, timeout: float) -> list[str]:
        """Run `command` in the project (where the development PBX's AMI secret is kept) until
        it says OpenDeep is running; the lines it printed until then."""
        assert self._proc is None, "a node starts once"
        self._proc = subprocess.Popen(
            command,
            cwd=PROJECT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # make, uv and opendeep: one group, stopped together
        )
        self.output = wait_for_line(self._proc, "OpenDeep is running", timeout=timeout)
        return self.output

    def app(self, user: Account) -> ServedApp:
        """The node's UI, used by `user` (the one account a node of a test has)."""
        return ServedApp(
            f"http://127.0.0.1:{self.port}", self.database_url, self.data_dir, user, user, user
        )

    def stop(self) -> None:
        """Stop the whole group, keep what it printed in `log`; a traceback fails the test."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        self.log.write_text("\n".join(self.output) + "\n" + (out or ""))
        assert "Traceback" not in (out or ""), out


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def whole_node(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WholeNode]:
    """A whole node to start (`WholeNode.start`), on SQLite and on PostgreSQL; stopped after
    the test. Needs the development PBX."""
    require_devpbx()
    database_url = None
    if request.param == "postgres":
        database_url = request.getfixturevalue("pg_database")
        _reset_postgres(database_url)
    node = WholeNode.prepare(tmp_path, database_url)
    try:
        yield node
    finally:
        node.stop()


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
