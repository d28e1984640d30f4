"""The one pre-dial gate every path goes through. Pure: facts in, verdict out."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from core.rules.calling_window import Window, next_opening

SLOT_RETRY = dt.timedelta(seconds=5)
VOICE_RETRY = dt.timedelta(seconds=30)
VOICE_HOLD_PREFIX = "not dialling: the voice cannot start — "


class Verdict(enum.StrEnum):
    DIAL = "dial"  # go ahead, to `number`
    DEFER = "defer"  # not now: try again at `at`
    HOLD = "hold"  # wait for the owner (campaign paused / not active)
    BLOCK = "block"  # never: the task ends (`final` says how)


@dataclass(frozen=True, slots=True)
class GateFacts:
    now: dt.datetime
    campaign_active: bool
    number: str
    zones: tuple[str, ...]
    window: Window
    on_user_dnc: bool
    on_global_dnc: bool
    attempts_made: int
    max_attempts: int
    slots_free: int
    test_mode: bool
    redirect_number: str
    # "First success ends the campaign": its calls go one at a time, so no call starts while
    # another of the campaign may still turn out to be the success.
    first_success: bool = False
    siblings_in_progress: int = 0
    # A sibling's call already achieved the goal: the stop rule is met. The sibling
    # cancellation may have found this task claimed (so not cancelled); the gate stops it here.
    sibling_succeeded: bool = False
    # Why this node's voice cannot start (no key, an unreachable Realtime server…); None: it can.
    voice_problem: str | None = None


@dataclass(frozen=True, slots=True)
class GateVerdict:
    verdict: Verdict
    reason: str
    number: str | None = None
    at: dt.datetime | None = None
    final: str | None = None  # task status when blocked: "cancelled" or "failed"
    # What the campaign shows its owner while this holds (the reason it does not dial).
    campaign_note: str | None = None


def decide(f: GateFacts) -> GateVerdict:
    """Apply the rules in order; the first that says no wins.

    1. the campaign is active;  2. in a first-success campaign, no other call of it has
    succeeded yet;  3. the number is on no Do-Not-Call list (the user's or the global one) —
    checked even in test mode;  4. attempts are left;  5. the callee-local window (skipped in
    test mode: no real callee is called then);  6. the call's voice can start (else nobody is
    rung only to be hung up on);  7. in a first-success campaign, no other call of it is in
    progress;  8. a concurrency slot is free.
    Test mode redirects the call to the redirect number.
    """
    if not f.campaign_active:
        return GateVerdict(Verdict.HOLD, "the campaign is not active")
    if f.first_success and f.sibling_succeeded:
        return GateVerdict(
            Verdict.BLOCK,
            "first success ends this campaign: another call already succeeded",
            final="cancelled",
        )
    if f.on_user_dnc or f.on_global_dnc:
        which = "your" if f.on_user_dnc else "the global"
        return GateVerdict(
            Verdict.BLOCK, f"{f.number} is on {which} Do-Not-Call list", final="cancelled"
        )
    if f.attempts_made >= f.max_attempts:
        return GateVerdict(
            Verdict.BLOCK,
            f"no attempts left ({f.attempts_made} of {f.max_attempts})",
            final="failed",
        )
    if not f.test_mode:
        opening = next_opening(f.now, f.zones, f.window)
        if opening is None:
            return GateVerdict(
                Verdict.BLOCK,
                "the calling window never opens in the callee's time zones",
                final="failed",
            )
        if opening > f.now:
            return GateVerdict(Verdict.DEFER, "outside the callee's calling window", at=opening)
    if f.voice_problem:
        why = f"{VOICE_HOLD_PREFIX}{f.voice_problem}"
        return GateVerdict(Verdict.HOLD, why, at=f.now + VOICE_RETRY, campaign_note=why)
    if f.first_success and f.siblings_in_progress > 0:
        return GateVerdict(
            Verdict.DEFER,
            "first success ends this campaign: waiting for the call in progress",
            at=f.now + SLOT_RETRY,
        )
    if f.slots_free <= 0:
        return GateVerdict(Verdict.DEFER, "no free call slot", at=f.now + SLOT_RETRY)
    number = f.redirect_number if f.test_mode else f.number
    reason = f"test mode: redirected to {number}" if f.test_mode else "all checks passed"
    return GateVerdict(Verdict.DIAL, reason, number=number)
