"""Helpers shared by tests: free ports, waiting for a process to say something."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float = 60.0) -> list[str]:
    """Read the process's stdout until a line contains `needle`; fail with what it printed."""
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen.append(line.rstrip())
        if needle in line:
            return seen
    raise AssertionError(f"never saw {needle!r}; output:\n" + "\n".join(seen))


def devpbx_up() -> str | None:
    """`asterisk/devpbx up` (fast when the PBX already runs with the current dialplan); None
    when it came up, else what it printed."""
    up = subprocess.run(
        [str(PROJECT / "asterisk" / "devpbx"), "up"],
        cwd=PROJECT,
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return None if up.returncode == 0 else f"{up.stdout}\n{up.stderr}"
