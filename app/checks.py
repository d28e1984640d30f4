"""What `opendeep doctor` reports: one `Check` per thing it looked at, printed one per line
with the fix under each problem."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Check:
    """`detail` says what was found; `fix`, for a problem, the exact line or command to fix it."""

    name: str
    level: Level
    detail: str
    fix: str = ""


def render(checks: list[Check]) -> str:
    marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    lines = []
    for check in checks:
        lines.append(f"[{marks[check.level]}] {check.name}: {check.detail}")
        if check.fix and check.level != "ok":
            lines.append(f"       fix: {check.fix}")
    return "\n".join(lines)
