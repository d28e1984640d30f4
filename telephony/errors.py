"""Errors of the telephony package. Each message names what went wrong and with which input."""

from __future__ import annotations


class TelephonyError(Exception):
    """Base of every error raised by `telephony`."""


class InvalidNumber(TelephonyError, ValueError):
    """The number to call is not a valid phone number; nothing was sent to the PBX."""

    def __init__(self, raw: str, why: str) -> None:
        super().__init__(f"cannot call {raw!r}: {why}")
        self.raw = raw
        self.why = why


class InvalidDtmf(TelephonyError, ValueError):
    """The DTMF digits contain something a phone keypad cannot send."""


class InvalidCallVariable(TelephonyError, ValueError):
    """A channel variable's name or value cannot be passed safely in an AMI Originate."""


class AmiError(TelephonyError):
    """Talking to Asterisk over AMI failed."""


class AmiNotConnected(AmiError):
    """No AMI session is up right now (the connection keeps retrying in the background)."""


class AmiConnectionLost(AmiError):
    """The AMI connection dropped while an action waited for its response.

    Whether Asterisk received the action is unknown; it is never re-sent automatically.
    """


class AmiTimeout(AmiError, TimeoutError):
    """Asterisk did not answer an action in time (the action is not re-sent)."""


class AmiLoginRefused(AmiError):
    """Asterisk refused the AMI user name or secret."""


class ChannelCheckFailed(AmiError):
    """Asterisk could not be asked whether the attempt's channel is already up, so nothing was
    dialled: dialling blind could call the same person twice."""


class AmiActionFailed(AmiError):
    """Asterisk answered an action with an error."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"AMI {action} failed: {message or 'no message'}")
        self.action = action
        self.message = message


class NoCallSlot(TelephonyError):
    """Every concurrent-call slot stayed taken for as long as the caller was willing to wait."""


class DuplicateCall(TelephonyError):
    """This attempt of this task was already placed; a second call was not made."""


class OriginateRefused(TelephonyError):
    """Asterisk refused to originate the call (the attempt ended as a technical failure)."""


class CallNotLive(TelephonyError):
    """The call has ended, or is not known to this node, so it cannot be acted on."""


class HandoverFailed(TelephonyError):
    """A call could not be bridged with its owner's leg: one of them has no SIP leg (any
    more) to bridge."""
