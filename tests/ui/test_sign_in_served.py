"""Sign-in over real HTTP: `opendeep serve` as users run it, and the app served in-process with
an injected clock (for the idle timeout)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from core.db import Database
from core.db.migrate import upgrade
from core.settings import Settings
from tests.helpers import free_port
from tests.ui.serve_process import add_user, cli, start_ui
from ui.app import build_asgi_app

PASSWORD = "alice-password-1"
LOCKED = "too many failed sign-ins; try again in 30 s"


def _login(base: str, password: str, **headers: str) -> httpx.Response:
    form = {"username": "alice", "password": password}
    return httpx.post(f"{base}/login", data=form, headers=headers, timeout=30)


def _signed_in(base: str, cookies: httpx.Cookies) -> bool:
    status = httpx.get(f"{base}/config", cookies=cookies, timeout=30).status_code
    assert status in (200, 401)
    return status == 200


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[str]]]:
    port = free_port()
    env = {
        **os.environ,
        "UI_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "LOG_FORMAT": "console",
        "DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("DATABASE_URL", None)
    env.pop("UI_TRUSTED_PROXIES", None)
    add_user(tmp_path, env, "alice", PASSWORD)
    proc = start_ui(tmp_path, env)
    try:
        yield f"http://127.0.0.1:{port}", env, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_six_wrong_passwords_lock_the_name_until_unlocked(
    served: tuple[str, dict[str, str], subprocess.Popen[str]], tmp_path: Path
) -> None:
    base, env, proc = served
    statuses = []
    for n in range(6):
        # A forged X-Forwarded-For from a peer that is no trusted proxy changes nothing.
        statuses.append(_login(base, f"wrong-{n}", **{"X-Forwarded-For": f"198.51.100.{n}"}))
    assert [r.status_code for r in statuses] == [400, 400, 400, 400, 429, 429]
    right = _login(base, PASSWORD)
    assert right.status_code == 429
    assert right.json() == {"detail": LOCKED.replace("30", right.headers["retry-after"])}
    assert 0 < int(right.headers["retry-after"]) <= 30
    assert "set-cookie" not in right.headers

    out = cli(["user", "unlock", "alice"], tmp_path, env)
    assert out.strip() == "unlocked alice"
    good = _login(base, PASSWORD)
    assert good.status_code == 200 and good.json() == {"success": True}
    assert _signed_in(base, good.cookies)

    proc.send_signal(signal.SIGTERM)
    log, _ = proc.communicate(timeout=30)
    audit = [line for line in log.splitlines() if "sign-in" in line]
    assert len(audit) == 8, log
    assert all("127.0.0.1" in line and "alice" in line for line in audit), audit
    assert "198.51.100" not in log
    assert [("locked" in a, "signed in" in a) for a in audit[-3:]] == [
        (True, False),
        (True, False),
        (False, True),
    ]
    assert PASSWORD not in log and "wrong-" not in log


def test_sign_out_ends_the_session_on_the_server(
    served: tuple[str, dict[str, str], subprocess.Popen[str]],
) -> None:
    base, _, _ = served
    other = _login(base, PASSWORD).cookies
    good = _login(base, PASSWORD)
    stolen = good.cookies
    assert _signed_in(base, stolen)
    out = httpx.get(f"{base}/logout", cookies=stolen, timeout=30)
    assert out.status_code == 302
    assert not _signed_in(base, stolen)  # the cookie kept by a thief is worth nothing now
    assert _signed_in(base, other)  # another browser stays signed in
    assert not _signed_in(base, httpx.Cookies())


# --- in-process, with an injected clock ------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def _serve_in_thread(settings: Settings, clock: Clock) -> Iterator[str]:
    started = threading.Event()
    holder: dict[str, uvicorn.Server] = {}

    async def main() -> None:
        db = Database(settings.database_url)
        try:
            app = build_asgi_app(settings, db, clock=clock)
            server = holder["server"] = uvicorn.Server(
                uvicorn.Config(
                    app,
                    host="127.0.0.1",
                    port=settings.ui_port,
                    log_config=None,
                    proxy_headers=False,  # as `ui.part` serves it
                )
            )
            serving = asyncio.create_task(server.serve())
            while not server.started and not serving.done():
                await asyncio.sleep(0.05)
            started.set()
            await serving
        finally:
            started.set()
            await db.dispose()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(120) and holder["server"].started
    try:
        yield f"http://127.0.0.1:{settings.ui_port}"
    finally:
        holder["server"].should_exit = True
        thread.join(30)


@pytest.fixture
def in_process(tmp_path: Path) -> Iterator[tuple[str, Clock, dict[str, str]]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'opendeep.db'}"
    upgrade(url)
    env = {**os.environ, "DATABASE_URL": url, "LOG_FORMAT": "console"}
    add_user(tmp_path, env, "alice", PASSWORD)
    settings = Settings(
        database_url=url,
        data_dir=tmp_path,
        ui_port=free_port(),
        ui_trusted_proxies="127.0.0.1",
        ui_session_idle_s=3600,
    )
    clock = Clock()
    for base in _serve_in_thread(settings, clock):
        yield base, clock, env


def test_a_session_idle_for_an_hour_is_over(in_process: tuple[str, Clock, dict[str, str]]) -> None:
    base, clock, _ = in_process
    cookies = _login(base, PASSWORD).cookies
    clock.now += dt.timedelta(minutes=59)
    assert _signed_in(base, cookies)
    clock.now += dt.timedelta(minutes=59)
    assert _signed_in(base, cookies)
    clock.now += dt.timedelta(minutes=60)
    assert not _signed_in(base, cookies)


def test_behind_a_trusted_proxy_each_client_has_its_own_count(
    in_process: tuple[str, Clock, dict[str, str]],
) -> None:
    base, _, _ = in_process
    for n in range(20):
        # One guesser behind the proxy (127.0.0.1 is trusted here), twenty names.
        form = {"username": f"user{n}", "password": "wrong"}
        headers = {"X-Forwarded-For": "1.2.3.4, 203.0.113.7"}
        httpx.post(f"{base}/login", data=form, headers=headers, timeout=30)
    blocked = _login(base, PASSWORD, **{"X-Forwarded-For": "203.0.113.7"})
    assert blocked.status_code == 429
    assert _login(base, PASSWORD, **{"X-Forwarded-For": "198.51.100.1"}).status_code == 200


def test_a_new_password_ends_every_session(
    in_process: tuple[str, Clock, dict[str, str]], tmp_path: Path
) -> None:
    base, clock, env = in_process
    cookies = _login(base, PASSWORD).cookies
    assert _signed_in(base, cookies)
    out = cli(["user", "passwd", "alice", "--password-stdin"], tmp_path, env, "a-new-password\n")
    assert out.strip() == "password of alice changed; 1 session(s) ended"
    clock.now += dt.timedelta(seconds=5)
    assert not _signed_in(base, cookies)
    assert _login(base, PASSWORD).status_code == 400
    assert _login(base, "a-new-password").status_code == 200
