"""The review card shows the callee's clock; the owner is told what an answer did."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from core.db.models import FeedbackKind
from core.services import InboxItem
from graphs.hitl import Resumed
from ui.render import inbox_cards
from ui.wiring import what_it_did

NOW = dt.datetime(2026, 11, 24, 15, 4, tzinfo=dt.UTC)


def review(zone: str | None) -> InboxItem:
    return InboxItem(
        id=3,
        kind=FeedbackKind.ANALYSIS_REVIEW,
        kind_label="Analysis review",
        question="Review the call to Smile Dental: low confidence",
        created_at=NOW,
        expires_at=None,
        campaign_name="Dentists",
        target_name="Smile Dental",
        call_id=1,
        plan=None,
        analysis=None,
        facts=(),
        details=(("Note", "Not applied: I could not read \u201chmm\u201d"),),
        can_accept=True,
        callee_zone=zone,
    )


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("America/New_York", "For the callee it is now Tue 10:04 EST (America/New_York)."),
        ("America/Los_Angeles", "For the callee it is now Tue 07:04 PST (America/Los_Angeles)."),
        (None, None),
        ("Not/A_Zone", None),
    ],
)
def test_the_review_card_shows_the_callees_clock(zone: str | None, shown: str | None) -> None:
    html = inbox_cards([review(zone)], NOW)
    assert "Not applied: I could not read \u201chmm\u201d" in html
    if shown is None:
        assert "od-callee-now" not in html
    else:
        assert shown in html


@pytest.mark.parametrize(
    ("resumed", "told"),
    [
        (
            Resumed(3, "post_call_analyzer", {"applied": "Smile Dental is done."}),
            "Smile Dental is done.",
        ),
        (
            Resumed(3, "post_call_analyzer", {"note": "Not applied: say when."}, waiting_on=4),
            "Not applied: say when. See item #4.",
        ),
        (
            Resumed(
                3,
                "lifecycle_manager",
                {
                    "answers": [
                        {"feedback_id": 2, "applied": "x"},
                        {"feedback_id": 3, "applied": "y"},
                    ]
                },
            ),
            "y",
        ),
        (Resumed(3, "orchestrator", {"status": "approved"}), None),
    ],
)
def test_the_owner_is_told_what_the_answer_did(resumed: Resumed, told: Any) -> None:
    assert what_it_did(resumed) == told
