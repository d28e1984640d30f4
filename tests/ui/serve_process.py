"""`opendeep` run as users run it, in a subprocess: add a user, start the UI-only service."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import wait_for_line

UI_ONLY = ["serve", "--no-telephony", "--no-media", "--no-scheduler"]


def cli(args: list[str], cwd: Path, env: dict[str, str], stdin: str = "") -> str:
    """Run `opendeep ARGS`; its stdout, or a failure showing what it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        text=True,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def add_user(
    cwd: Path, env: dict[str, str], name: str, password: str, display_name: str | None = None
) -> int:
    """`opendeep user add NAME --password-stdin`; the new user's id."""
    args = ["user", "add", name, "--password-stdin"]
    if display_name is not None:
        args += ["--display-name", display_name]
    out = cli(args, cwd, env, password + "\n")
    return int(out.rsplit("(id ", 1)[1].rstrip(")\n"))


def start_ui(cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.Popen[str]:
    """`opendeep serve` with only the UI, once it says it is running (stdout and stderr merged,
    left unread after that line)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *UI_ONLY],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_line(proc, "OpenDeep is running", timeout=timeout)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc
