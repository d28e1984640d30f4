"""A call's caller ID: the campaign's, else its owner's, else the node's — and only numbers the
node offers."""

from __future__ import annotations

import re

import pytest

from core.rules.caller_id import CallerIdRefused, allowed_caller_id, caller_id_for_call

CHOICES = ("+12125550100", "+16465550123")
NODE = '"Acme" <+12125550199>'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        ("  ", ""),
        ("+12125550100", "+12125550100"),
        ("(212) 555-0100", "+12125550100"),  # read in the default region
        ("+1 646 555 0123", "+16465550123"),
    ],
)
def test_allowed(value: str, expected: str) -> None:
    assert allowed_caller_id(value, CHOICES) == expected


@pytest.mark.parametrize(
    ("value", "choices", "message"),
    [
        (
            "+12125550101",
            CHOICES,
            "+12125550101 is not a caller ID this server may send; its "
            "choices: +12125550100, +16465550123",
        ),
        ("+12125550100", (), "its choices: none (every call shows this server's own)"),
        ("not a number", CHOICES, "not a number"),
    ],
)
def test_refused(value: str, choices: tuple[str, ...], message: str) -> None:
    with pytest.raises(CallerIdRefused, match=re.escape(message)):
        allowed_caller_id(value, choices)


@pytest.mark.parametrize(
    ("campaign", "owner", "expected"),
    [
        ("+16465550123", "+12125550100", "+16465550123"),  # the campaign's own
        (None, "+12125550100", "+12125550100"),  # else the owner's
        ("", "", NODE),  # else the node's
        (None, None, NODE),
        ("+13125550000", None, NODE),  # no longer offered: passed over
        ("+13125550000", "+12125550100", "+12125550100"),
    ],
)
def test_which_caller_id_a_call_carries(
    campaign: str | None, owner: str | None, expected: str
) -> None:
    assert (
        caller_id_for_call(campaign=campaign, owner=owner, node=NODE, choices=CHOICES) == expected
    )
