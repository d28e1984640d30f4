"""Asterisk hangup causes (Q.850 codes as Asterisk names them) and what each means for a call.

Texts are Asterisk's own (`ast_cause2str`, main/channel.c), so a stored cause reads the same
as the `Cause-txt` header of a `Hangup` event; an event's own text is preferred when present.
"""

from __future__ import annotations

import enum


class CauseKind(enum.Enum):
    """How a hangup cause bears on the outcome of an unanswered call."""

    NORMAL = "normal"  # the call was cleared normally (16, 31)
    BUSY = "busy"  # the callee is busy or turned the call down (17, 21)
    NO_ANSWER = "no_answer"  # nobody answered (18, 19, 20)
    CONGESTION = "congestion"  # the network had no capacity (34, 38, 41, 42, 44, 47)
    FAILED = "failed"  # the number or the route is wrong, or anything else


# code -> Asterisk's text
CAUSE_TEXTS: dict[int, str] = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    2: "No route to specified transmit network",
    3: "No route to destination",
    5: "Misdialed trunk prefix",
    6: "Channel unacceptable",
    7: "Call awarded and being delivered in an established channel",
    8: "Pre-empted",
    14: "Number ported elsewhere",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call Rejected",
    22: "Number changed",
    23: "Redirected to new destination",
    26: "Answered elsewhere",
    27: "Destination out of order",
    28: "Invalid number format",
    29: "Facility rejected",
    30: "Response to STATus ENQuiry",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    42: "Switching equipment congestion",
    43: "Access information discarded",
    44: "Requested channel not available",
    47: "Resource unavailable, unspecified",
    50: "Facility not subscribed",
    52: "Outgoing call barred",
    54: "Incoming call barred",
    57: "Bearer capability not authorized",
    58: "Bearer capability not available",
    65: "Bearer capability not implemented",
    66: "Channel not implemented",
    69: "Facility not implemented",
    81: "Invalid call reference value",
    88: "Incompatible destination",
    95: "Invalid message unspecified",
    96: "Mandatory information element is missing",
    97: "Message type nonexist.",
    98: "Wrong message",
    99: "Info. element nonexist or not implemented",
    100: "Invalid information element contents",
    101: "Message not compatible with call state",
    102: "Recover on timer expiry",
    103: "Mandatory IE length error",
    111: "Protocol error, unspecified",
    127: "Interworking, unspecified",
}

_KINDS: dict[int, CauseKind] = {
    16: CauseKind.NORMAL,
    31: CauseKind.NORMAL,
    17: CauseKind.BUSY,
    # A callee who rejects the call is, for retrying, like a busy one.
    21: CauseKind.BUSY,
    18: CauseKind.NO_ANSWER,
    19: CauseKind.NO_ANSWER,
    20: CauseKind.NO_ANSWER,
    34: CauseKind.CONGESTION,
    38: CauseKind.CONGESTION,
    41: CauseKind.CONGESTION,
    42: CauseKind.CONGESTION,
    44: CauseKind.CONGESTION,
    47: CauseKind.CONGESTION,
}


def cause_kind(code: int | None) -> CauseKind:
    """What a hangup cause says about an unanswered call; unknown codes are failures."""
    if code is None:
        return CauseKind.FAILED
    return _KINDS.get(code, CauseKind.FAILED)


def cause_text(code: int | None, reported: str | None = None) -> str | None:
    """The text for a cause: the one Asterisk reported if any, else Asterisk's table entry."""
    if reported and reported.strip():
        return reported.strip()
    if code is None:
        return None
    return CAUSE_TEXTS.get(code, f"Cause {code}")
