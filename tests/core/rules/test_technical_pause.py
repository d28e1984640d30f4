"""When repeated technical failures pause a campaign's dialling."""

from __future__ import annotations

import pytest

from core.rules import PAUSE_AFTER, technical_pause

TF = "technical_failure"


@pytest.mark.parametrize(
    ("recent", "paused"),
    [
        ([], False),
        ([TF], False),
        ([TF, TF], False),
        ([TF, TF, TF], True),
        ([TF, TF, TF, "answered"], True),  # the three newest count
        (["answered", TF, TF, TF], False),  # a call that worked since: not in a row
        ([TF, "busy", TF], False),
        ([TF, None, TF], False),  # a call in progress, no outcome yet
        (["answered", "busy", "no_answer"], False),
    ],
)
def test_three_in_a_row_pause(recent: list[str | None], paused: bool) -> None:
    assert PAUSE_AFTER == 3
    assert (technical_pause(recent, "the voice could not start") is not None) is paused


def test_the_banner_says_why_and_what_to_do() -> None:
    banner = technical_pause([TF] * 3, "the voice could not start: REALTIME_URL x")
    assert banner == (
        "dialling paused after 3 technical failures in a row: the voice could not start: "
        "REALTIME_URL x — fix it, then Resume"
    )
    assert technical_pause([TF] * 3, "") == (
        "dialling paused after 3 technical failures in a row — fix it, then Resume"
    )


def test_the_threshold_is_a_parameter() -> None:
    assert technical_pause([TF], "", after=1) is not None
    assert technical_pause([TF] * 5, "", after=0) is None
