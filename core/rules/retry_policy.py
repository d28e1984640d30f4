"""What happens after an attempt: retry when, by outcome; callbacks at the asked time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from core.domain import AttemptResult


@dataclass(frozen=True, slots=True)
class NextAttempt:
    retry: bool
    at: dt.datetime | None
    reason: str


def _defaults() -> dict[str, dt.timedelta]:
    return {
        AttemptResult.BUSY: dt.timedelta(minutes=10),
        AttemptResult.CONGESTION: dt.timedelta(minutes=5),
        AttemptResult.NO_ANSWER: dt.timedelta(hours=2),
        # Next day, three hours later in the day: people who miss a 10:00 call may be in at 13:00.
        AttemptResult.VOICEMAIL: dt.timedelta(days=1, hours=3),
        AttemptResult.TECHNICAL_FAILURE: dt.timedelta(minutes=3),
        AttemptResult.FAILED: dt.timedelta(minutes=15),
    }


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Delays by outcome (an `AttemptResult`, or an analysis' outcome of the same name); an
    outcome not listed is not retried (achieved, refused, opt-out…)."""

    delays: dict[str, dt.timedelta] = field(default_factory=_defaults)
    # A callback the callee asked for may go beyond max_attempts, but not forever.
    extra_callbacks: int = 2

    def next_attempt(
        self,
        outcome: str,
        *,
        attempts_made: int,
        max_attempts: int,
        now: dt.datetime,
        callback_at: dt.datetime | None = None,
    ) -> NextAttempt:
        if callback_at is not None:
            # The callee asked for this time: honour it even when the attempts are used up
            # (they agreed to the call), up to a few extra attempts.
            if attempts_made >= max_attempts + self.extra_callbacks:
                return NextAttempt(False, None, "callback requested, but too many attempts already")
            at = max(callback_at, now)
            return NextAttempt(True, at, f"callback requested for {at.isoformat()}")
        delay = self.delays.get(outcome)
        if delay is None:
            return NextAttempt(False, None, f"{outcome}: no retry")
        if attempts_made >= max_attempts:
            return NextAttempt(False, None, f"{outcome}: all {max_attempts} attempts used")
        return NextAttempt(True, now + delay, f"{outcome}: retry in {delay}")
