"""Telephony: the AMI connection to Asterisk, call origination and the per-call state machine."""

from telephony.ami_connection import AmiConnection, AmiState
from telephony.call_initiator import CallInitiator, PlacedCall
from telephony.call_tracker import CallSnapshot, CallTracker
from telephony.errors import (
    AmiActionFailed,
    AmiConnectionLost,
    AmiError,
    AmiLoginRefused,
    AmiNotConnected,
    AmiTimeout,
    CallNotLive,
    ChannelCheckFailed,
    DuplicateCall,
    InvalidCallVariable,
    InvalidDtmf,
    InvalidNumber,
    NoCallSlot,
    OriginateRefused,
    TelephonyError,
)
from telephony.part import TelephonyPart

__all__ = [
    "AmiActionFailed",
    "AmiConnection",
    "AmiConnectionLost",
    "AmiError",
    "AmiLoginRefused",
    "AmiNotConnected",
    "AmiState",
    "AmiTimeout",
    "CallInitiator",
    "CallNotLive",
    "CallSnapshot",
    "CallTracker",
    "ChannelCheckFailed",
    "DuplicateCall",
    "InvalidCallVariable",
    "InvalidDtmf",
    "InvalidNumber",
    "NoCallSlot",
    "OriginateRefused",
    "PlacedCall",
    "TelephonyError",
    "TelephonyPart",
]
