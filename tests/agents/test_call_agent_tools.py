"""The in-call tools' schemas agree with what the bridge, telephony and the in-band path do."""

from __future__ import annotations

import re

import pytest

from agents.call_agent.tools import SEND_DTMF
from media.audio import dtmf_tones
from media.conversation.tools import DTMF_DIGITS
from telephony.call_initiator import DTMF


def schema_accepts(digits: str) -> bool:
    spec = SEND_DTMF.parameters["properties"]["digits"]
    return bool(re.search(spec["pattern"], digits)) and len(digits) <= spec["maxLength"]


def in_band_accepts(digits: str) -> bool:
    try:
        dtmf_tones(digits)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("1", True),
        ("#", True),
        ("1w2", True),  # w: a half-second pause, everywhere
        ("w1", True),
        ("1ww*0#", True),
        ("D", True),
        ("1" * 32, True),
        ("1" * 33, False),
        ("ww", False),  # a pause alone presses nothing
        ("", False),
        ("1x", False),
        ("1 2", False),
    ],
)
def test_send_dtmf_digits_mean_the_same_to_every_part(digits: str, valid: bool) -> None:
    assert schema_accepts(digits) is valid
    assert bool(DTMF_DIGITS.match(digits)) is valid  # the conversation
    assert bool(DTMF.match(digits)) is valid  # telephony (AMI PlayDTMF)
    if len(digits) <= 32:
        assert in_band_accepts(digits) is valid  # in-band tones
