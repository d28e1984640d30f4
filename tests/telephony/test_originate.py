"""The Originate action of an attempt."""

from __future__ import annotations

import pytest

from telephony.channel_ids import OPENDEEP_CALLS, attempt_ids
from telephony.errors import InvalidCallVariable
from telephony.originate import check_variable, originate_action

IDS = attempt_ids(12, 3, OPENDEEP_CALLS)


def build(**overrides: object) -> dict[str, str | list[str]]:
    kwargs: dict[str, object] = {
        "ids": IDS,
        "number": "+12125550101",
        "user_id": 5,
        "task_id": 12,
        "recording": True,
        "ring_timeout_s": 25,
        "action_id": "opendeep-originate/x/1",
    }
    kwargs.update(overrides)
    return originate_action(**kwargs)  # type: ignore[arg-type]


def test_the_action() -> None:
    action = build(variables={"CAMPAIGN_ID": "9"})
    assert action == {
        "Action": "Originate",
        "ActionID": "opendeep-originate/x/1",
        "Channel": "Local/+12125550101@opendeep-outbound",
        "Context": "opendeep-agent",
        "Exten": "s",
        "Priority": "1",
        "Async": "true",
        "Timeout": "30000",
        "ChannelId": IDS.channel_id,
        "OtherChannelId": IDS.other_channel_id,
        "Variable": [
            f"CALL_UUID={IDS.call_uuid}",
            "TASK_ID=12",
            "USER_ID=5",
            "RECORDING=1",
            "RING_TIMEOUT=25",
            "CAMPAIGN_ID=9",
        ],
    }


def test_recording_off() -> None:
    assert "RECORDING=0" in build(recording=False)["Variable"]


@pytest.mark.parametrize("name", ["CALL_UUID", "task_id", "Recording", "RING_TIMEOUT", "USER_ID"])
def test_own_variables_cannot_be_overridden(name: str) -> None:
    with pytest.raises(InvalidCallVariable, match="set by OpenDeep"):
        build(variables={name: "x"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GOOD", "a,b"),  # Asterisk would split it into two variables
        ("GOOD", "line\r\nAction: Hangup"),  # header injection
        ("GOOD", 'say "hi"'),
        ("GOOD", "back\\slash"),
        ("GOOD", "x" * 257),
        ("1BAD", "x"),
        ("BAD-NAME", "x"),
        ("", "x"),
        ("BAD NAME", "x"),
    ],
)
def test_unsafe_variables_are_refused(name: str, value: str) -> None:
    with pytest.raises(InvalidCallVariable):
        check_variable(name, value)
    with pytest.raises(InvalidCallVariable):
        build(variables={name: value})


@pytest.mark.parametrize("value", ["", "plain", "with spaces and: colons", "ünïcode", "x" * 256])
def test_safe_values(value: str) -> None:
    check_variable("NOTE", value)


@pytest.mark.parametrize("number", ["12125550101", "+1 212 555 0101", "Local/x", "+1212;2"])
def test_number_must_be_e164(number: str) -> None:
    with pytest.raises(ValueError, match=r"E\.164"):
        build(number=number)


@pytest.mark.parametrize("ring", [0, 601])
def test_ring_timeout_bounds(ring: int) -> None:
    with pytest.raises(ValueError, match="ring time-out"):
        build(ring_timeout_s=ring)


def test_caller_id_is_sent_only_when_set() -> None:
    assert "CallerID" not in build()
    action = build(caller_id='"Acme Dental" <+12125550100>')
    assert action["CallerID"] == '"Acme Dental" <+12125550100>'


def test_caller_id_cannot_end_the_header() -> None:
    with pytest.raises(ValueError, match="caller ID"):
        build(caller_id="+12125550100\r\nAction: Hangup")
