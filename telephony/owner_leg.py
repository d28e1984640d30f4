"""The AMI actions of a handover, built without I/O: the owner's leg and the bridge.

Owner's leg  Originate  Channel Local/<owner E.164>@opendeep-outbound (the ;2 half dials the
             owner's phone through the trunk), Context opendeep-owner, Exten s: once answered,
             the ;1 half connects to OpenDeep's AudioSocket under the leg's own UUID (the agent
             briefs the owner there). ChannelId: that UUID (media derives it from the call's,
             so a second handover Originate of one call is refused by Asterisk).
Bridge       Redirect  the callee's channel to opendeep-owner, exten b-<leg UUID>: it leaves
             AudioSocket as it is (no masquerade: its MixMonitor and its Local pair stay as
             they were) and runs Bridge(<leg UUID>), which takes the owner's leg out of its
             AudioSocket into the bridge. When either side hangs up, the other goes on in its
             dialplan after the bridge: a hang-up. (AMI's own `Bridge` action moves both
             channels by masquerade; on the development PBX the callee's Local channel then
             passed no audio to the callee.)
"""

from __future__ import annotations

import uuid
from typing import Final

from telephony.originate import OUTBOUND_CONTEXT, AmiAction, check_variable

OWNER_CONTEXT: Final = "opendeep-owner"
RING_MARGIN_S: Final = 5  # the Originate's own timeout, behind the dialplan's ring timeout


def owner_leg_action(
    *,
    call_uuid: str,
    leg_uuid: str,
    number: str,
    user_id: int,
    ring_timeout_s: int,
    audiosocket: str,
    action_id: str,
    caller_id: str = "",
) -> AmiAction:
    """The Originate of the owner's leg `leg_uuid` of call `call_uuid` (`number` E.164,
    already checked)."""
    if not 1 <= ring_timeout_s <= 120:
        raise ValueError(f"the owner's ring time-out must be 1–120 s, got {ring_timeout_s}")
    leg = str(uuid.UUID(leg_uuid))
    variables = {
        "CALL_UUID": leg,
        "OPENDEEP_CALLEE_UUID": call_uuid,
        "USER_ID": str(user_id),
        "RING_TIMEOUT": str(ring_timeout_s),
        "OPENDEEP_AUDIOSOCKET": audiosocket,
    }
    for name, value in variables.items():
        check_variable(name, value)
    action: AmiAction = {
        "Action": "Originate",
        "ActionID": action_id,
        # /n: the Local pair stays in the path (optimised out, it swapped the callee's
        # channel into the owner's dial bridge, and no audio reached the callee).
        "Channel": f"Local/{number}@{OUTBOUND_CONTEXT}/n",
        "Context": OWNER_CONTEXT,
        "Exten": "s",
        "Priority": "1",
        "Async": "true",
        "Timeout": str((ring_timeout_s + RING_MARGIN_S) * 1000),
        "ChannelId": leg,
        "OtherChannelId": str(uuid.uuid5(uuid.UUID(leg), "2")),
        "Variable": [f"{k}={v}" for k, v in variables.items()],
    }
    if caller_id:
        action["CallerID"] = caller_id
    return action


def bridge_action(callee_channel: str, leg_uuid: str, action_id: str) -> AmiAction:
    """Send the callee's channel to the dialplan that bridges it with the owner's leg."""
    return {
        "Action": "Redirect",
        "ActionID": action_id,
        "Channel": callee_channel,
        "Context": OWNER_CONTEXT,
        "Exten": f"b-{uuid.UUID(leg_uuid)}",
        "Priority": "1",
    }
