"""Turn the callee's "call me back Thursday after 3 pm" into an aware datetime in their zone.

The phrase is read relative to the time of the call, in the callee's time zone. Understood:
today / tonight / tomorrow / weekday names ("next Thursday" = the coming one), "next week",
"in N minutes / hours / days", "in an hour", "in half an hour", "later (today)"; clock times
"3 pm", "3:30pm", "15:00", "noon", "at/after/around 3" (1–7 without am/pm means pm, "03:15"
does not); parts of the day "morning", "afternoon", "evening". A day without a time means
10:00; a time without a day means the next such time after the call. What cannot be read gives
None (the owner is asked instead).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_RE = re.compile(
    r"\b(next\s+)?(" + "|".join(_DAYS) + r"|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\b"
)
_PARTS = {"morning": 9, "afternoon": 14, "evening": 18, "tonight": 18, "noon": 12, "midday": 12}
_CLOCK = re.compile(
    r"\b(?:(at|after|around|about|by|before|from)\s+)?(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?(?![\d:])"
)
_IN = re.compile(r"\bin\s+(an?|half an|\d+)\s*(minute|min|hour|hr|day)s?\b")
DEFAULT_HOUR = 10


def _weekday(token: str) -> int:
    for i, day in enumerate(_DAYS):
        if day.startswith(token[:3]):
            return i
    raise ValueError(token)


def _clock(text: str) -> dt.time | None:
    for match in _CLOCK.finditer(text):
        prep, hour_s, minute_s, meridiem = match.groups()
        if not (prep or minute_s or meridiem):
            continue  # a bare number ("2 kids") is not a time
        hour, minute = int(hour_s), int(minute_s or 0)
        if hour > 23 or minute > 59:
            continue
        if meridiem:
            if hour > 12:
                continue
            pm = meridiem.startswith("p")
            hour = (hour % 12) + (12 if pm else 0)
        elif 1 <= hour <= 7 and not hour_s.startswith("0"):
            hour += 12  # nobody asks for a call back at 3 in the night; "03:15" says it does
        return dt.time(hour, minute)
    for word, hour in _PARTS.items():
        if re.search(rf"\b{word}\b", text):
            return dt.time(hour, 0)
    return None


def resolve_callback(phrase: str, call_time: dt.datetime, zone: str) -> dt.datetime | None:
    """The moment the callee asked to be called, aware in `zone`, after `call_time`; or None."""
    if call_time.tzinfo is None:
        raise ValueError("call_time must be timezone-aware")
    tz = ZoneInfo(zone)
    now = call_time.astimezone(tz)
    text = " ".join(phrase.casefold().replace("o'clock", "").split())

    relative = _IN.search(text)
    if relative:
        amount_s, unit = relative.groups()
        amount = (
            0.5 if amount_s == "half an" else 1.0 if amount_s in ("a", "an") else float(amount_s)
        )
        if unit.startswith("min"):
            delta = dt.timedelta(minutes=amount)
        elif unit.startswith(("hour", "hr")):
            delta = dt.timedelta(hours=amount)
        else:
            delta = dt.timedelta(days=amount)
        return (now + delta).replace(second=0, microsecond=0)
    clock = _clock(text)
    day: dt.date | None = None
    if "tomorrow" in text:
        day = now.date() + dt.timedelta(days=1)
    elif re.search(r"\b(today|tonight|this (morning|afternoon|evening))\b", text):
        day = now.date()
    elif (match := _DAY_RE.search(text)) is not None:
        # "Thursday" and "next Thursday" both mean the coming one; said on a Thursday, next week.
        day = now.date() + dt.timedelta(days=(_weekday(match.group(2)) - now.weekday()) % 7 or 7)
    elif "next week" in text:
        day = now.date() + dt.timedelta(days=7 - now.weekday())
    elif clock is None and re.search(r"\blater\b", text):
        return (now + dt.timedelta(hours=2)).replace(second=0, microsecond=0)

    if day is None and clock is None:
        return None
    if day is None:
        assert clock is not None
        candidate = dt.datetime.combine(now.date(), clock, tzinfo=tz)
        return candidate if candidate > now else candidate + dt.timedelta(days=1)
    at = dt.datetime.combine(day, clock or dt.time(DEFAULT_HOUR), tzinfo=tz)
    return at if at > now else None


def read_local_time(text: str, call_time: dt.datetime, zone: str) -> dt.datetime | None:
    """A model's `YYYY-MM-DDTHH:MM` reading, taken as callee-local; None if unreadable or past."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    tz = ZoneInfo(zone)
    value = value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)
    return value if value > call_time else None
