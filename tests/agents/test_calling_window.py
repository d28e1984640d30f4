"""A plan's calling window: the legal window narrowed by the plan (arithmetic is core.rules)."""

from __future__ import annotations

import datetime as dt

import pytest

from agents.calling_window import describe_window, first_opening, is_open, plan_window
from agents.schemas import Constraints
from core.rules.calling_window import Window

LEGAL = (dt.time(8), dt.time(21))
TUE_15Z = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)  # Tuesday, 10:00 in New York


def utc(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("constraints", "expected"),
    [
        (None, Window(dt.time(8), dt.time(21))),
        (Constraints(earliest=dt.time(9), latest=dt.time(12)), Window(dt.time(9), dt.time(12))),
        (Constraints(earliest=dt.time(6), latest=dt.time(23)), Window(dt.time(8), dt.time(21))),
        (Constraints(days=["sat", "mon"]), Window(dt.time(8), dt.time(21), frozenset({0, 5}))),
        (Constraints(earliest=dt.time(21, 30)), None),  # nothing left
    ],
)
def test_plan_window_only_narrows(constraints: Constraints | None, expected: Window | None) -> None:
    assert plan_window(*LEGAL, constraints) == expected


@pytest.mark.parametrize(
    ("zones", "constraints", "after", "expected"),
    [
        (["America/New_York"], None, TUE_15Z, TUE_15Z),
        (["America/Los_Angeles"], None, TUE_15Z, utc(24, 16)),
        (["America/New_York", "Europe/London", "Asia/Tokyo"], None, TUE_15Z, None),
        (
            ["America/New_York"],
            Constraints(earliest=dt.time(9), latest=dt.time(12), days=["sat"]),
            TUE_15Z,
            utc(28, 14),
        ),
        ([], None, TUE_15Z, None),  # unknown zone: no promise
        (["America/New_York"], Constraints(earliest=dt.time(21, 30)), TUE_15Z, None),
    ],
)
def test_first_opening(
    zones: list[str],
    constraints: Constraints | None,
    after: dt.datetime,
    expected: dt.datetime | None,
) -> None:
    assert first_opening(zones, plan_window(*LEGAL, constraints), after) == expected


def test_is_open_and_description() -> None:
    window = plan_window(*LEGAL, Constraints(days=["mon", "tue"]))
    assert is_open(["America/New_York"], window, TUE_15Z)
    assert not is_open(["America/New_York"], window, utc(25, 15))  # Wednesday
    assert describe_window(window) == "08:00–21:00 (mon, tue)"
    assert describe_window(plan_window(*LEGAL)) == "08:00–21:00 (any day)"
    assert describe_window(None).startswith("(no hours left")


def test_stored_constraints_carry_weekdays_for_the_dial_gate() -> None:
    dumped = Constraints(days=["sat", "mon"]).model_dump(mode="json")
    assert dumped["weekdays"] == [0, 5]
    assert Constraints.model_validate({"weekdays": [0, 4]}).days == ["mon", "fri"]
    assert Constraints.model_validate(dumped).days == ["sat", "mon"]
