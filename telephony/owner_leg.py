"""The AMI actions of a handover, built without I/O: the owner's leg and the bridge.

Owner's leg  Originate  Channel Local/<owner E.164>@opendeep-outbound (the ;2 half dials the
             owner's phone through the trunk), Context opendeep-owner, Exten s: once answered,
             the ;1 half connects to OpenDeep's AudioSocket under the leg's own UUID (the agent
             briefs the owner there). ChannelId: that UUID (media derives it from the call's,
             so a second handover Originate of one call is refused by Asterisk).
Bridge       the two SIP legs, not the Local channels OpenDeep originated: `Getvar BRIDGEPEER`
             of each call's Local ;2 half names its SIP leg (the callee's, the owner's);
             `StopMixMonitor` ends the call's recording on its ;1 half; `Setvar` tells the
             callee's SIP leg the owner's and the recording's file; `Redirect` sends it to
             opendeep-owner, exten b-<leg UUID>: it records on, appending to the same file, and
             runs Bridge(<owner's SIP leg>). Both Local pairs then hang up (their ;2 halves lost
             their peers), so both AudioSockets close: the agent has left. When either side
             hangs up, the other is hung up after the bridge.
             A cold transfer is the same Redirect of the callee's SIP leg, to exten t<E.164>:
             it dials the number through the trunk itself (no bridge to wait for).
             (Bridging the Local ;1 halves instead, by AMI `Bridge`, or by Redirect into
             Bridge(), was seen on Asterisk 22 to pass no audio at all once AudioSocket had run
             on them; two SIP legs bridge like any transferred call.)
"""

from __future__ import annotations

import uuid
from typing import Final

from telephony.originate import E164, OUTBOUND_CONTEXT, AmiAction, check_variable

OWNER_CONTEXT: Final = "opendeep-owner"
RING_MARGIN_S: Final = 5  # the Originate's own timeout, behind the dialplan's ring timeout


def owner_leg_half_2(leg_uuid: str) -> str:
    """The unique id of the owner leg's ;2 half (the one that dials the owner)."""
    return str(uuid.uuid5(uuid.UUID(leg_uuid), "2"))


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
        "OtherChannelId": owner_leg_half_2(leg),
        "Variable": [f"{k}={v}" for k, v in variables.items()],
    }
    if caller_id:
        action["CallerID"] = caller_id
    return action


def peer_action(local_2: str, action_id: str) -> AmiAction:
    """Ask for the SIP leg bridged with a Local ;2 half (`local_2`: its name or unique id)."""
    return {"Action": "Getvar", "ActionID": action_id, "Channel": local_2, "Variable": "BRIDGEPEER"}


def local_half_2(local_1: str) -> str:
    """The ;2 half's name of a Local channel named by its ;1 half."""
    if not local_1.startswith("Local/") or not local_1.endswith(";1"):
        raise ValueError(f"not the ;1 half of a Local channel: {local_1!r}")
    return local_1[:-1] + "2"


def transfer_leg_uuid(call_uuid: str) -> str:
    """The UUID of the leg a cold transfer of call `call_uuid` dials (in its SIP header)."""
    return str(uuid.uuid5(uuid.UUID(call_uuid), "transfer"))


def transfer_actions(
    *, callee_peer: str, number: str, recording_file: str, leg_uuid: str, action_id: str
) -> list[AmiAction]:
    """Send the callee's SIP leg `callee_peer` on to `number` (E.164, already checked and
    allowed): recording on into `recording_file` (empty: no recording)."""
    if not E164.match(number):
        raise ValueError(f"a transfer needs an E.164 number, got {number!r}")
    variables = {"OPENDEEP_TRANSFER_UUID": str(uuid.UUID(leg_uuid))}
    return _redirect(callee_peer, variables, recording_file, f"t{number}", action_id)


def bridge_actions(
    *, callee_peer: str, owner_peer: str, recording_file: str, leg_uuid: str, action_id: str
) -> list[AmiAction]:
    """Tell the callee's SIP leg `callee_peer` where to go and send it there: recording on
    into `recording_file` (empty: no recording), bridged with the owner's SIP leg
    `owner_peer`."""
    check_variable("OPENDEEP_OWNER_PEER", owner_peer)
    variables = {"OPENDEEP_OWNER_PEER": owner_peer}
    return _redirect(callee_peer, variables, recording_file, f"b-{uuid.UUID(leg_uuid)}", action_id)


def _redirect(
    callee_peer: str, variables: dict[str, str], recording_file: str, exten: str, action_id: str
) -> list[AmiAction]:
    """`Setvar` of each of `variables` and of the recording's file on the callee's SIP leg,
    then its `Redirect` to `exten` of OpenDeep's owner context."""
    check_variable("OPENDEEP_RECORDING_FILE", recording_file)
    setvars: list[AmiAction] = [
        {
            "Action": "Setvar",
            "ActionID": f"{action_id}-{name.lower()}",
            "Channel": callee_peer,
            "Variable": name,
            "Value": value,
        }
        for name, value in {**variables, "OPENDEEP_RECORDING_FILE": recording_file}.items()
    ]
    redirect: AmiAction = {
        "Action": "Redirect",
        "ActionID": action_id,
        "Channel": callee_peer,
        "Context": OWNER_CONTEXT,
        "Exten": exten,
        "Priority": "1",
    }
    return [*setvars, redirect]
