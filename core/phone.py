"""Phone-number rules: E.164 normalization and the callee's possible time zones."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as pn_timezone


class InvalidPhoneNumber(ValueError):
    """The text is not a valid, dialable phone number; the message names it."""

    def __init__(self, raw: str, why: str) -> None:
        super().__init__(f"{raw!r} is not a valid phone number: {why}")
        self.raw = raw
        self.why = why


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber:
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber(raw, "it is empty")
    try:
        number = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(raw, str(exc.args[0] if exc.args else exc)) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(
            raw, "no such number in its numbering plan (check the digits and the country code)"
        )
    return number


def normalize(raw: str, region: str = "US") -> str:
    """Return `raw` in E.164 form (`+12125550101`); numbers without `+` are read in `region`.

    Raises `InvalidPhoneNumber` naming the input when it is not a valid number.
    """
    return phonenumbers.format_number(_parse(raw, region), phonenumbers.PhoneNumberFormat.E164)


def numbers_in(text: str, region: str = "US") -> tuple[str, ...]:
    """The valid phone numbers written in `text` (E.164, in order, each once), read as a person
    would: "+1 212 555 0115", "(212) 555-0115" in `region`'s format."""
    found: list[str] = []
    for match in phonenumbers.PhoneNumberMatcher(text, region):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if e164 not in found:
            found.append(e164)
    return tuple(found)


def time_zones(e164: str) -> tuple[str, ...]:
    """The IANA time zones a number may be in (several for non-geographic numbers).

    Unknown zones are left out; an empty tuple means nothing is known about the callee's zone.
    """
    number = _parse(e164, "US")
    zones = [z for z in pn_timezone.time_zones_for_number(number) if z != "Etc/Unknown"]
    known = []
    for zone in zones:
        try:
            ZoneInfo(zone)
        except (KeyError, ValueError):
            continue
        known.append(zone)
    return tuple(known)


def region_of(e164: str) -> str | None:
    """The ISO region code of a number (`US`, `GB`…), or None when the plan is shared/unknown."""
    return phonenumbers.region_code_for_number(_parse(e164, "US"))
