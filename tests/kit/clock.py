"""A clock the test moves: what every component that takes `clock=` gets in tests."""

from __future__ import annotations

import datetime as dt

# A Tuesday, 10:00 in New York: inside every default calling window.
T0 = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)


class FakeClock:
    """Called like `core.db.utcnow`: returns an aware UTC time that moves only when told."""

    def __init__(self, at: dt.datetime = T0) -> None:
        self._now = T0
        self.set(at)

    def __call__(self) -> dt.datetime:
        return self._now

    @property
    def now(self) -> dt.datetime:
        return self._now

    def set(self, at: dt.datetime) -> dt.datetime:
        """Jump to `at` (an aware datetime, kept in UTC); returns it."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"FakeClock takes aware datetimes only, got {at!r}")
        self._now = at.astimezone(dt.UTC)
        return self._now

    def advance(self, delta: dt.timedelta | None = None, /, **parts: float) -> dt.datetime:
        """Move on by `delta` or by `timedelta(**parts)` (`advance(minutes=5)`); returns the
        new time. Time never runs backwards here: a negative step is refused."""
        step = (delta or dt.timedelta()) + dt.timedelta(**parts)
        if step < dt.timedelta():
            raise ValueError(f"a clock only moves forward, not by {step}")
        self._now += step
        return self._now
