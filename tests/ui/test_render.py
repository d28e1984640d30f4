"""Times are shown in the reader's time zone, with its abbreviation."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from ui.render import when

NOON_UTC_WINTER = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
NOON_UTC_SUMMER = dt.datetime(2026, 7, 15, 12, 0, tzinfo=dt.UTC)


def test_utc_by_default() -> None:
    assert when(NOON_UTC_WINTER) == "2026-01-15 12:00 UTC"


def test_in_the_readers_zone_with_daylight_saving() -> None:
    new_york = ZoneInfo("America/New_York")
    assert when(NOON_UTC_WINTER, new_york) == "2026-01-15 07:00 EST"
    assert when(NOON_UTC_SUMMER, new_york) == "2026-07-15 08:00 EDT"
    assert when(NOON_UTC_SUMMER, ZoneInfo("Asia/Kolkata")) == "2026-07-15 17:30 IST"


def test_no_time_is_a_dash() -> None:
    assert when(None, ZoneInfo("Europe/Paris")) == "—"
