"""The orchestrator's checks and templates."""

from __future__ import annotations

import datetime as dt

from agents.calling_window import plan_window
from agents.orchestrator import (
    approval_description,
    call_instructions,
    review_plan,
)
from agents.schemas import parse_plan

NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
LEGAL = plan_window(dt.time(8), dt.time(21))

PLAN = parse_plan(
    {
        "name": "Dentists",
        "objective": "Book a cleaning next week",
        "targets": [
            {"name": "Smile Dental", "phone": "+12125550101"},
            {"name": "Blocked Co", "phone": "+12125550102"},
            {
                "name": "Everywhere Inc",
                "phone": "+12125550103",
                "time_zones": ["America/New_York", "Europe/London", "Asia/Tokyo"],
            },
            {"name": "LA Teeth", "phone": "+13105550101", "notes": "ask for Dana"},
        ],
        "questions": ["Do you take Aetna?"],
        "disclosure": ["Alice's callback number is +12125550199"],
        "success_criteria": ["an appointment is booked"],
        "voicemail_message": "Please call Alice back.",
        "constraints": {"notes": ["mornings only"], "max_call_minutes": 4},
    }
)


def test_each_target_is_checked_and_issues_name_the_number() -> None:
    review = review_plan(PLAN, dnc={"+12125550102"}, window=LEGAL, now=NOW)
    ok, blocked, nowhere, la = review.targets
    assert ok.callable and ok.first_call_at == NOW
    assert blocked.issues == ["Blocked Co (+12125550102) is on the Do-Not-Call list"]
    assert not nowhere.callable and "+12125550103" in nowhere.issues[0]
    assert "America/New_York, Europe/London, Asia/Tokyo" in nowhere.issues[0]
    assert la.callable and la.first_call_at == dt.datetime(2026, 11, 24, 16, 0, tzinfo=dt.UTC)
    assert [t.name for t in review.callable_targets] == ["Smile Dental", "LA Teeth"]


def test_unknown_zone_is_an_issue() -> None:
    plan = parse_plan(
        {"name": "x", "objective": "y", "targets": [{"name": "Sat", "phone": "+12125550101"}]}
    )
    plan.targets[0].time_zones = []
    review = review_plan(plan, dnc=set(), window=LEGAL, now=NOW)
    assert "time zone is unknown" in review.targets[0].issues[0]


def test_call_instructions_carry_every_part_of_the_plan() -> None:
    text = call_instructions(PLAN, PLAN.targets[3], owner="Alice")
    for part in (
        "LA Teeth",
        "Open with the AI disclosure your greeting gives you",
        "Book a cleaning next week",
        "- Do you take Aetna?",
        "- Alice's callback number is +12125550199",
        "- mornings only",
        "- Keep the call under 4 minutes.",
        "- an appointment is booked",
        'leave this message: "Please call Alice back."',
        "ask for Dana",
    ):
        assert part in text, part
    assert "$" not in text


def test_approval_card_lists_targets_and_issues() -> None:
    review = review_plan(PLAN, dnc={"+12125550102"}, window=LEGAL, now=NOW)
    text = approval_description(PLAN, review, window=LEGAL, note="Your edit was not applied")
    assert '## Approve the campaign "Dentists"' in text
    assert (
        "| 1 | Smile Dental | +12125550101 | America/New_York | 2026-11-24 15:00 UTC | ok |" in text
    )
    assert "**skipped**: Blocked Co (+12125550102) is on the Do-Not-Call list" in text
    assert text.count("Needs your attention") == 1 and "**Your edit was not applied**" in text


def test_call_instructions_leave_the_disclosure_to_the_greeting() -> None:
    """One source for the disclosure line: the owner's own, which the greeting carries. The
    task sheet refers to it and repeats no text of its own (the node's default or another)."""
    text = call_instructions(PLAN, PLAN.targets[3], owner="Alice")
    assert "calling on behalf of" not in text
    assert "AI assistant" not in text
    assert "greeting" in text
