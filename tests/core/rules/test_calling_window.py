from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from core.rules.calling_window import Window, next_opening

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
W = Window(dt.time(8), dt.time(21))


def ny(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NY)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("now", "zones", "window", "expected"),
    [
        # inside: now
        (ny(2026, 12, 1, 10, 0), ("America/New_York",), W, ny(2026, 12, 1, 10, 0)),
        # before opening: today 08:00
        (ny(2026, 12, 1, 6, 30), ("America/New_York",), W, ny(2026, 12, 1, 8, 0)),
        # after closing: tomorrow 08:00
        (ny(2026, 12, 1, 21, 0), ("America/New_York",), W, ny(2026, 12, 2, 8, 0)),
        (ny(2026, 12, 1, 23, 59), ("America/New_York",), W, ny(2026, 12, 2, 8, 0)),
        # 09:00 in New York is 06:00 in Los Angeles: the intersection opens at 11:00 NY
        (
            ny(2026, 12, 1, 9, 0),
            ("America/New_York", "America/Los_Angeles"),
            W,
            ny(2026, 12, 1, 11, 0),
        ),
        # 20:30 NY is inside both (LA 17:30)
        (
            ny(2026, 12, 1, 20, 30),
            ("America/New_York", "America/Los_Angeles"),
            W,
            ny(2026, 12, 1, 20, 30),
        ),
        # weekdays only: Saturday → Monday 08:00
        (
            ny(2026, 12, 5, 12, 0),
            ("America/New_York",),
            Window(dt.time(8), dt.time(21), frozenset(range(5))),
            ny(2026, 12, 7, 8, 0),
        ),
        # a per-campaign window 14:00–16:00
        (
            ny(2026, 12, 1, 16, 0),
            ("America/New_York",),
            Window(dt.time(14), dt.time(16)),
            ny(2026, 12, 2, 14, 0),
        ),
        # DST starts 2026-03-08 in the US: 08:00 local is 12:00 UTC after, 13:00 UTC before
        (ny(2026, 3, 8, 7, 0), ("America/New_York",), W, ny(2026, 3, 8, 8, 0)),
    ],
)
def test_next_opening(
    now: dt.datetime, zones: tuple[str, ...], window: Window, expected: dt.datetime
) -> None:
    got = next_opening(now.astimezone(dt.UTC), zones, window)
    assert got == expected


def test_zones_that_never_overlap_give_none() -> None:
    narrow = Window(dt.time(9), dt.time(10))
    assert next_opening(ny(2026, 12, 1, 9, 0), ("America/New_York", "Asia/Tokyo"), narrow) is None


def test_unknown_zone_list_reads_the_window_in_utc() -> None:
    now = dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.UTC)
    assert next_opening(now, (), W) == dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "args",
    [(dt.time(21), dt.time(8)), (dt.time(8), dt.time(8)), (dt.time(8), dt.time(9), frozenset())],
)
def test_bad_windows_are_refused(args: tuple[object, ...]) -> None:
    with pytest.raises(ValueError, match=r"window|weekdays"):
        Window(*args)  # type: ignore[arg-type]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_opening(dt.datetime(2026, 1, 1), ("UTC",), W)
