"""Where a call really goes and how many may be up at once (test mode included).

Test mode (`APP_TEST_MODE`) redirects every call to `APP_TEST_MODE_REDIRECT_NUMBER` and allows
one call at a time, so a rehearsal can never ring a real business.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.phone import InvalidPhoneNumber, normalize
from telephony.errors import InvalidNumber


@dataclass(frozen=True, slots=True)
class DialTarget:
    requested: str  # the callee's number, E.164
    dialed: str  # what the PBX dials, E.164 (the redirect number in test mode)

    @property
    def redirected(self) -> bool:
        return self.dialed != self.requested


def dial_target(
    raw: str, *, test_mode: bool, redirect_number: str, region: str = "US"
) -> DialTarget:
    """Validate `raw` and decide what to dial. Raises `InvalidNumber` naming the input."""
    try:
        requested = normalize(raw, region)
    except InvalidPhoneNumber as exc:
        raise InvalidNumber(raw, exc.why) from None
    if not test_mode:
        return DialTarget(requested=requested, dialed=requested)
    try:
        redirect = normalize(redirect_number, region)
    except InvalidPhoneNumber as exc:
        raise InvalidNumber(redirect_number, "APP_TEST_MODE_REDIRECT_NUMBER: " + exc.why) from None
    return DialTarget(requested=requested, dialed=redirect)


def call_limit(max_concurrent_calls: int, *, test_mode: bool) -> int:
    """How many calls this node may have up at once: 1 in test mode."""
    if max_concurrent_calls < 1:
        raise ValueError(f"MAX_CONCURRENT_CALLS must be at least 1, got {max_concurrent_calls}")
    return 1 if test_mode else max_concurrent_calls
