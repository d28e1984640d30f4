"""Number validation and test-mode redirection; the call limit."""

from __future__ import annotations

import pytest

from telephony.dial_rules import call_limit, dial_target
from telephony.errors import InvalidNumber

REDIRECT = "+12125550101"


@pytest.mark.parametrize(
    ("raw", "test_mode", "requested", "dialed"),
    [
        ("+12125550102", False, "+12125550102", "+12125550102"),
        ("(212) 555-0102", False, "+12125550102", "+12125550102"),
        ("+12125550102", True, "+12125550102", REDIRECT),
        ("212 555 0104", True, "+12125550104", REDIRECT),
        (REDIRECT, True, REDIRECT, REDIRECT),
    ],
)
def test_dial_target(raw: str, test_mode: bool, requested: str, dialed: str) -> None:
    target = dial_target(raw, test_mode=test_mode, redirect_number=REDIRECT)
    assert (target.requested, target.dialed) == (requested, dialed)
    assert target.redirected == (requested != dialed)


@pytest.mark.parametrize("raw", ["", "   ", "12", "not a number", "+1 212 555 010", "+999123"])
@pytest.mark.parametrize("test_mode", [True, False])
def test_invalid_numbers_are_refused_even_in_test_mode(raw: str, test_mode: bool) -> None:
    with pytest.raises(InvalidNumber) as info:
        dial_target(raw, test_mode=test_mode, redirect_number=REDIRECT)
    assert repr(raw) in str(info.value)


def test_bad_redirect_number_is_named() -> None:
    with pytest.raises(InvalidNumber, match="APP_TEST_MODE_REDIRECT_NUMBER"):
        dial_target("+12125550102", test_mode=True, redirect_number="123")


@pytest.mark.parametrize(
    ("limit", "test_mode", "expected"), [(4, False, 4), (4, True, 1), (1, False, 1), (50, True, 1)]
)
def test_call_limit(limit: int, test_mode: bool, expected: int) -> None:
    assert call_limit(limit, test_mode=test_mode) == expected


def test_call_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="MAX_CONCURRENT_CALLS"):
        call_limit(0, test_mode=False)
