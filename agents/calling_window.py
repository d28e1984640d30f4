"""The calling window of a plan: the legal window narrowed by the plan's own limits.

The window arithmetic itself (zones intersected, DST, next opening) is `core.rules`, the same
code the scheduler's pre-dial gate runs, so what the orchestrator promises is what gets dialled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from agents.schemas import WEEKDAYS, Constraints
from core.rules.calling_window import Window, next_opening


def plan_window(
    legal_start: dt.time, legal_end: dt.time, constraints: Constraints | None = None
) -> Window | None:
    """The legal window narrowed (never widened) by the plan; None when nothing is left."""
    start, end, weekdays = legal_start, legal_end, frozenset(range(7))
    if constraints is not None:
        start = max(start, constraints.earliest or start)
        end = min(end, constraints.latest or end)
        weekdays = frozenset(constraints.weekdays) or weekdays
    if start >= end:
        return None
    return Window(start, end, weekdays)


def describe_window(window: Window | None) -> str:
    if window is None:
        return "(no hours left once the plan's limits are applied)"
    days = (
        "any day"
        if window.weekdays == frozenset(range(7))
        else ", ".join(WEEKDAYS[d] for d in sorted(window.weekdays))
    )
    return f"{window.start:%H:%M}–{window.end:%H:%M} ({days})"


def first_opening(
    zones: Sequence[str], window: Window | None, after: dt.datetime
) -> dt.datetime | None:
    """When calling may start (at or after `after`, within two weeks), or None."""
    if window is None or not zones:
        return None
    return next_opening(after, zones, window)


def is_open(zones: Sequence[str], window: Window | None, at: dt.datetime) -> bool:
    return first_opening(zones, window, at) == at
