"""The AMI actions of a handover, built without I/O."""

from __future__ import annotations

import uuid

import pytest

from telephony.errors import InvalidCallVariable
from telephony.owner_leg import (
    bridge_actions,
    local_half_2,
    owner_leg_action,
    owner_leg_half_2,
    peer_action,
)

CALL = "6729c107-32b3-4c07-864c-fcc1411a6925"
LEG = str(uuid.uuid5(uuid.UUID(CALL), "owner"))


def test_the_owner_leg_names_its_dialling_half_by_a_fixed_id() -> None:
    action = owner_leg_action(
        call_uuid=CALL,
        leg_uuid=LEG,
        number="+12125550115",
        user_id=7,
        ring_timeout_s=25,
        audiosocket="127.0.0.1:9092",
        action_id="a",
    )
    assert action["ChannelId"] == LEG
    assert action["OtherChannelId"] == owner_leg_half_2(LEG) != LEG


def test_the_sip_leg_is_asked_of_the_local_channels_second_half() -> None:
    assert local_half_2("Local/+12125550117@opendeep-outbound-00000000;1") == (
        "Local/+12125550117@opendeep-outbound-00000000;2"
    )
    with pytest.raises(ValueError, match="not the ;1 half"):
        local_half_2("PJSIP/opendeep-sim-00000001")
    assert peer_action("x;2", "id") == {
        "Action": "Getvar",
        "ActionID": "id",
        "Channel": "x;2",
        "Variable": "BRIDGEPEER",
    }


def test_the_callee_sip_leg_is_told_where_to_go_then_redirected() -> None:
    actions = bridge_actions(
        callee_peer="PJSIP/trunk-00000000",
        owner_peer="PJSIP/trunk-00000002",
        recording_file="/var/spool/asterisk/recordings/c.wav",
        leg_uuid=LEG,
        action_id="b",
    )
    assert [a["Action"] for a in actions] == ["Setvar", "Setvar", "Redirect"]
    assert all(a["Channel"] == "PJSIP/trunk-00000000" for a in actions)
    assert actions[0]["Value"] == "PJSIP/trunk-00000002"
    assert actions[2]["Context"] == "opendeep-owner"
    assert actions[2]["Exten"] == f"b-{LEG}"


def test_a_peer_name_that_cannot_travel_in_a_variable_is_refused() -> None:
    with pytest.raises(InvalidCallVariable):
        bridge_actions(
            callee_peer="PJSIP/a",
            owner_peer="PJSIP/b,evil",
            recording_file="",
            leg_uuid=LEG,
            action_id="b",
        )
