"""Where the dialplan's marks of an Originate are looked for, and for how long their absence
proves a call was never dialled (`telephony.dial_marks`; the dialplan side is checked against
the development PBX in test_asterisk_calls.py)."""

from __future__ import annotations

import datetime as dt

from telephony.dial_marks import BUCKETS, TRUSTED_FOR, can_judge, day_of, mark_keys

UUID = "9de0dcb7-604e-5f69-80d2-14892a5cb9e4"


def test_days_are_utc_days_since_1970_naive_or_aware() -> None:
    assert day_of(dt.datetime(1970, 1, 1, 23, 59, tzinfo=dt.UTC)) == 0
    assert day_of(dt.datetime(2026, 12, 7, 0, 0, 1, tzinfo=dt.UTC)) == 20_794
    assert day_of(dt.datetime(2026, 12, 7, 0, 0, 1)) == 20_794  # naive: read as UTC
    new_york = dt.timezone(dt.timedelta(hours=-5))
    assert day_of(dt.datetime(2026, 12, 6, 20, 0, tzinfo=new_york)) == 20_794  # 01:00 UTC


def test_the_mark_is_looked_for_on_its_day_and_either_side() -> None:
    keys = mark_keys(UUID, dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC))
    assert keys == [f"2/{UUID}", f"3/{UUID}", f"1/{UUID}"]  # 20794 % 4 == 2
    around_midnight = mark_keys(UUID, dt.datetime(2026, 12, 7, 23, 59, 59, tzinfo=dt.UTC))
    assert f"{(20_794 + 1) % BUCKETS}/{UUID}" in around_midnight


def test_a_missing_mark_proves_nothing_once_the_row_is_too_old() -> None:
    written = dt.datetime(2026, 12, 7, 23, 0, tzinfo=dt.UTC)
    assert can_judge(written, written)
    assert can_judge(written, written + TRUSTED_FOR)
    assert not can_judge(written, written + TRUSTED_FOR + dt.timedelta(seconds=1))
    # The reaper's clock a little behind the row's (another node wrote it): still judged.
    assert can_judge(written, written - dt.timedelta(seconds=30))
