"""How a call ended, in OpenDeep's words: the rule from Asterisk's signals to a `CallOutcome`.

Two signals say why an unanswered call ended: the `Reason` of the `OriginateResponse` event
(the last control frame the originating channel saw — Asterisk's `ast_control_frame_type`) and
the `Cause` of the channel's `Hangup` event (Q.850). The reason is the more direct of the two
for busy, congestion and ring time-outs; the cause decides the rest.
"""

from __future__ import annotations

import enum

from core.domain import CallOutcome
from telephony.hangup_causes import CauseKind, cause_kind


class OriginateReason(enum.IntEnum):
    """`Reason` of an `OriginateResponse` event (values of Asterisk's `AST_CONTROL_*`)."""

    FAILED = 0  # no signal at all: the channel could not be created or dialled
    HANGUP = 1  # the far end hung up before answering
    RING = 2  # local ring
    RINGING = 3  # still ringing when the Originate's Timeout ran out
    ANSWERED = 4
    BUSY = 5
    CONGESTION = 8


def parse_reason(value: str | None) -> int | None:
    """The integer `Reason` of an `OriginateResponse`, or None when absent or not a number."""
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def parse_cause(value: str | None) -> int | None:
    """The integer `Cause` of a `Hangup` event, or None when absent or not a number."""
    return parse_reason(value)


_BY_REASON: dict[int, CallOutcome] = {
    OriginateReason.BUSY: CallOutcome.BUSY,
    OriginateReason.CONGESTION: CallOutcome.CONGESTION,
    OriginateReason.RINGING: CallOutcome.NO_ANSWER,
}

_BY_CAUSE_KIND: dict[CauseKind, CallOutcome] = {
    CauseKind.BUSY: CallOutcome.BUSY,
    CauseKind.NO_ANSWER: CallOutcome.NO_ANSWER,
    CauseKind.CONGESTION: CallOutcome.CONGESTION,
    CauseKind.FAILED: CallOutcome.FAILED,
}

MACHINE = "MACHINE"


def classify_end(
    *,
    answered: bool,
    rang: bool = False,
    reason: int | None = None,
    cause: int | None = None,
    amd_status: str | None = None,
    cancelled: bool = False,
    refused: bool = False,
    pbx_stopped: bool = False,
) -> CallOutcome:
    """The outcome of an ended call.

    - the PBX refused the Originate: `technical_failure` (whatever else was seen belonged to
      the channel that already had this id);
    - the PBX hung it up because it was shutting down or restarting: `technical_failure`,
      answered or not (the callee did not end it, and nothing says the conversation was over);
    - answered: `voicemail` when answering-machine detection said MACHINE, else `answered`
      (whoever hung up, and whatever the cause);
    - never answered and OpenDeep hung up first: `cancelled`;
    - else the Originate reason (busy 5, congestion 8, ring time-out 3), then the hangup cause
      (17/21 busy, 18/19/20 no answer, 34/38/41/42/44/47 congestion); a normal clearing of a
      call that rang is `no_answer`, of one that never rang `failed`; anything else `failed`.
    """
    if refused or pbx_stopped:
        return CallOutcome.TECHNICAL_FAILURE
    if answered:
        if (amd_status or "").strip().upper() == MACHINE:
            return CallOutcome.VOICEMAIL
        return CallOutcome.ANSWERED
    if cancelled:
        return CallOutcome.CANCELLED
    if reason is not None and reason in _BY_REASON:
        return _BY_REASON[reason]
    kind = cause_kind(cause)
    if kind is CauseKind.NORMAL:
        return CallOutcome.NO_ANSWER if rang else CallOutcome.FAILED
    return _BY_CAUSE_KIND[kind]
