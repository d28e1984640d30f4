from __future__ import annotations

import pytest

from core.phone import InvalidPhoneNumber, normalize, region_of, time_zones


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+1 212 555 0101", "US", "+12125550101"),
        ("(212) 555-0101", "US", "+12125550101"),
        ("212.555.0101", "us", "+12125550101"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+49 30 901820", "US", "+4930901820"),
    ],
)
def test_normalizes_to_e164(raw: str, region: str, e164: str) -> None:
    assert normalize(raw, region) == e164


@pytest.mark.parametrize("raw", ["", "   ", "12", "not a number", "+1 555 555 0100", "+999 1234"])
def test_invalid_number_is_named_in_the_error(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as info:
        normalize(raw)
    assert repr(raw) in str(info.value)


@pytest.mark.parametrize(
    ("e164", "zones"),
    [
        ("+12125550101", ("America/New_York",)),
        ("+14155550123", ("America/Los_Angeles",)),
        ("+13125550150", ("America/Chicago",)),
        ("+442079460958", ("Europe/London",)),
    ],
)
def test_time_zone_from_the_number(e164: str, zones: tuple[str, ...]) -> None:
    assert time_zones(e164) == zones


def test_non_geographic_number_has_several_zones() -> None:
    zones = time_zones("+18005550100")
    assert "America/New_York" in zones and "America/Los_Angeles" in zones


def test_region() -> None:
    assert region_of("+442079460958") == "GB"
