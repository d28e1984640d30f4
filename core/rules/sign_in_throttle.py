"""When repeated failed sign-ins lock a user name or a client address, and for how long.

A pure rule: it is given the stored state of one key and the time, and answers; the caller keeps
the state (in the database, so a lock holds across restarts and nodes).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class ThrottleState:
    """What is remembered of one key (a user name or a client address)."""

    failures: int = 0  # failed attempts since the last lock (or success)
    locks: int = 0  # locks so far; each one lasts twice as long as the one before
    locked_until: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """`max_failures` failures lock the key for `first_lock`; once a lock has run out, the next
    failure locks it again for twice as long, up to `longest_lock`. A success forgets it all."""

    max_failures: int = 5
    first_lock: dt.timedelta = dt.timedelta(seconds=30)
    longest_lock: dt.timedelta = dt.timedelta(hours=1)

    def wait(self, state: ThrottleState, now: dt.datetime) -> int:
        """Whole seconds until the key may try again; 0 when it may try now."""
        if state.locked_until is None or state.locked_until <= now:
            return 0
        return math.ceil((state.locked_until - now).total_seconds())

    def lock_length(self, locks: int) -> dt.timedelta:
        """How long the `locks`-th lock lasts (1 for the first)."""
        doubled = self.first_lock * (1 << min(max(locks - 1, 0), 32))
        return min(doubled, self.longest_lock)

    def after_failure(self, state: ThrottleState, now: dt.datetime) -> ThrottleState:
        """The state once a failed attempt is counted (an attempt refused by a lock is not)."""
        failures = state.failures + 1
        if failures < self.max_failures and state.locks == 0:
            return replace(state, failures=failures)
        locks = state.locks + 1
        return ThrottleState(failures=0, locks=locks, locked_until=now + self.lock_length(locks))


# Many people may sign in from behind one address (an office, a proxy), so an address is given
# more failures than a name before its lock; a name is what a guesser aims at.
USER_POLICY = ThrottlePolicy()
ADDRESS_POLICY = ThrottlePolicy(max_failures=20)
