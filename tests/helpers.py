"""Helpers shared by tests: free ports, reading a process's output up to a line."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from core.ports import free_port

__all__ = ["PROJECT", "free_port", "wait_for_line"]

PROJECT = Path(__file__).resolve().parents[1]


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
