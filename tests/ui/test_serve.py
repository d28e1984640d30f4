"""`opendeep serve` starts, tells where to open it, serves a login page, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import free_port, wait_for_line
from tests.ui.serve_process import UI_ONLY, add_user, start_ui


def test_serve_starts_prints_the_url_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "UI_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "LOG_FORMAT": "console",
    }
    env.pop("DATABASE_URL", None)
    add_user(tmp_path, env, "alice", "alice-password-1")
    proc = start_ui(tmp_path, env)
    try:
        banner = wait_for_line(proc, "ui", timeout=5)[-1]
        assert banner.split() == [
            "ui",
            "open",
            f"http://127.0.0.1:{port}/",
            "in",
            "your",
            "browser",
        ]
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz", timeout=10).json() == {"status": "ok"}
        page = httpx.get(f"{base}/", timeout=10, follow_redirects=True)
        assert page.status_code == 200
        bad = httpx.post(
            f"{base}/login", data={"username": "alice", "password": "nope"}, timeout=30
        )
        assert bad.status_code == 400
        good = httpx.post(
            f"{base}/login", data={"username": "alice", "password": "alice-password-1"}, timeout=30
        )
        assert good.status_code == 200 and good.json() == {"success": True}
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert "OpenDeep stopped." in out
        assert "Traceback" not in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_reports_a_busy_port_clearly(tmp_path: Path) -> None:
    import socket

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        env = {**os.environ, "UI_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", *UI_ONLY],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    assert result.returncode == 1
    assert "error: cannot start" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.browser
def test_serve_stops_promptly_with_a_page_open(tmp_path: Path, browser: Any) -> None:
    """An open page holds a heartbeat and event streams; SIGTERM must still stop at once and
    cleanly."""
    port = free_port()
    env = {**os.environ, "UI_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    env.update(LOG_FORMAT="console", DATA_DIR=str(tmp_path / "data"))
    env.pop("DATABASE_URL", None)
    add_user(tmp_path, env, "erin", "erin-password-1")
    proc = start_ui(tmp_path, env)
    try:
        context = browser.new_context(base_url=f"http://127.0.0.1:{port}")
        context.request.post("/login", form={"username": "erin", "password": "erin-password-1"})
        page = context.new_page()
        # Stop while the page's first event stream is open too (its load events' results come
        # on it), not only its heartbeat.
        with page.expect_request(lambda r: "/queue/data" in r.url, timeout=30_000):
            page.goto("/")
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert time.monotonic() - started < 10
        assert proc.returncode == 0, out
        assert "OpenDeep stopped." in out
        assert "Traceback" not in out and "did not stop cleanly" not in out, out
        context.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
