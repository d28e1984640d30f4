"""The callee-local calling window.

A number may map to several time zones (a toll-free number, a shared area code); the call is
allowed only when it is inside the window in *every* one of them — the intersection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

SEARCH_DAYS = 14


@dataclass(frozen=True, slots=True)
class Window:
    """Daily hours [start, end) in the callee's local time, on the given weekdays (Mon=0)."""

    start: dt.time
    end: dt.time
    weekdays: frozenset[int] = frozenset(range(7))

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError(
                f"the calling window must start before it ends ({self.start}–{self.end})"
            )
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError(
                f"weekdays must be a non-empty subset of 0..6, got {sorted(self.weekdays)}"
            )


Interval = tuple[dt.datetime, dt.datetime]


def _zone_intervals(zone: str, window: Window, around: dt.datetime) -> list[Interval]:
    tz = ZoneInfo(zone)
    first = around.astimezone(tz).date() - dt.timedelta(days=1)
    out = []
    for offset in range(SEARCH_DAYS + 2):
        day = first + dt.timedelta(days=offset)
        if day.weekday() not in window.weekdays:
            continue
        start = dt.datetime.combine(day, window.start, tz).astimezone(dt.UTC)
        end = dt.datetime.combine(day, window.end, tz).astimezone(dt.UTC)
        out.append((start, end))
    return out


def _intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def allowed_intervals(zones: Iterable[str], window: Window, around: dt.datetime) -> list[Interval]:
    """The UTC intervals, over about two weeks from `around`, when calling is allowed."""
    result: list[Interval] | None = None
    for zone in zones:
        intervals = _zone_intervals(zone, window, around)
        result = intervals if result is None else _intersect(result, intervals)
    if result is None:  # no zone known: the window is read in UTC
        result = _zone_intervals("UTC", window, around)
    return result


def next_opening(now: dt.datetime, zones: Iterable[str], window: Window) -> dt.datetime | None:
    """`now` when calling is allowed now, else the next moment it is; None if never in 2 weeks."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    for start, end in allowed_intervals(zones, window, now):
        if end > now:
            return max(start, now)
    return None
