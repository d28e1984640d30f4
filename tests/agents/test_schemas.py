"""The shared schemas: a plan's numbers, zones and limits; the next step's time."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from agents.schemas import CallAnalysis, NextStep, parse_plan, validation_problems


def _plan(**kw: object) -> dict[str, object]:
    return {
        "name": "Dentists",
        "objective": "Book a cleaning",
        "targets": [{"name": "Smile Dental", "phone": "(212) 555-0101"}],
        **kw,
    }


def test_numbers_become_e164_and_zones_come_from_the_number() -> None:
    plan = parse_plan(_plan())
    assert plan.targets[0].phone == "+12125550101"
    assert plan.targets[0].time_zones == ["America/New_York"]
    assert plan.stop_rule.value == "call_everyone" and plan.max_attempts == 3


def test_numbers_without_plus_use_the_default_region() -> None:
    plan = parse_plan(
        _plan(targets=[{"name": "Pub", "phone": "020 7946 0000"}]), default_region="GB"
    )
    assert plan.targets[0].phone == "+442079460000"
    assert plan.targets[0].time_zones == ["Europe/London"]


def test_an_invalid_number_is_named_in_the_error() -> None:
    bad = _plan(
        targets=[{"name": "A", "phone": "+12125550101"}, {"name": "B", "phone": "+1 555 12"}]
    )
    with pytest.raises(ValidationError) as info:
        parse_plan(bad)
    problems = validation_problems(info.value)
    assert len(problems) == 1
    assert problems[0].startswith("targets.1.phone:")
    assert "'+1 555 12' is not a valid phone number" in problems[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"targets": []}, "at least 1"),
        (
            {
                "targets": [
                    {"name": "A", "phone": "+12125550101"},
                    {"name": "B", "phone": "212-555-0101"},
                ]
            },
            "+12125550101 is listed twice",
        ),
        (
            {"targets": [{"name": "A", "phone": "+12125550101", "time_zones": ["Mars/Base"]}]},
            "'Mars/Base' is not an IANA time zone",
        ),
        (
            {"constraints": {"earliest": "12:00", "latest": "09:00"}},
            "earliest (12:00:00) must be before",
        ),
        ({"constraints": {"days": ["funday"]}}, "days.0"),
        ({"stop_rule": "whenever"}, "stop_rule"),
        ({"max_attempts": 0}, "max_attempts"),
    ],
)
def test_plan_problems_are_explained(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_plan(_plan(**change))
    assert message in " ".join(validation_problems(info.value))


def test_next_step_with_a_time_needs_an_aware_time() -> None:
    with pytest.raises(ValidationError, match="needs a time"):
        NextStep(action="retry_at")
    with pytest.raises(ValidationError, match="no time zone"):
        NextStep(action="call_back_at", at=dt.datetime(2026, 11, 26, 15, 0))
    assert NextStep(action="done").at is None


def test_only_supported_facts_are_confirmed() -> None:
    analysis = CallAnalysis.model_validate(
        {
            "outcome": "achieved",
            "goal_achieved": True,
            "facts": [
                {"name": "appointment", "value": "Tue 9:30", "quote": "Tuesday at 9:30"},
                {"name": "price", "value": "$80", "quote": "eighty dollars", "supported": False},
            ],
            "next_step": {"action": "done"},
            "confidence": 0.9,
        }
    )
    assert analysis.confirmed_facts() == {"appointment": "Tue 9:30"}
