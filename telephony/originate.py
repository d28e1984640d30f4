"""The AMI `Originate` of one call attempt, built and checked without I/O.

Channel   Local/<E.164>@opendeep-outbound   the ;2 half dials the number through the trunk
Context   opendeep-agent, Exten s, Priority 1   the ;1 half runs the agent once answered
ChannelId / OtherChannelId   the attempt's deterministic ids (see `channel_ids`)
Variable  CALL_UUID, TASK_ID, USER_ID, RECORDING (1/0), RING_TIMEOUT (s), and extras
Async     true: Asterisk answers "queued" at once, the result comes as OriginateResponse
CallerID  the caller ID the callee sees (CALLER_ID), when one is set: Asterisk gives it to the
          ;1 half, whose ;2 half presents it on the trunk
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from telephony.channel_ids import AttemptIds
from telephony.errors import InvalidCallVariable

OUTBOUND_CONTEXT = "opendeep-outbound"
AGENT_CONTEXT = "opendeep-agent"
# The dialplan's Dial gives up after RING_TIMEOUT and reports "no answer" itself; the
# Originate's own Timeout is only a backstop behind it.
ORIGINATE_MARGIN_S = 5
RESERVED_VARIABLES = frozenset({"CALL_UUID", "TASK_ID", "USER_ID", "RECORDING", "RING_TIMEOUT"})

_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
# Asterisk splits a Variable header at commas and honours quotes and backslashes; CR/LF would
# end the header. None of them is allowed in a value.
_VAR_VALUE = re.compile(r"[^\x00-\x1f\x7f,\"\\]{0,256}\Z")
E164 = re.compile(r"\+[1-9][0-9]{6,14}\Z")  # a number Asterisk may dial

AmiAction = dict[str, str | list[str]]


def originate_action(
    *,
    ids: AttemptIds,
    number: str,
    user_id: int,
    task_id: int,
    recording: bool,
    ring_timeout_s: int,
    action_id: str,
    variables: Mapping[str, str] | None = None,
    caller_id: str = "",
) -> AmiAction:
    """The Originate action for one attempt. `number` must already be E.164; `action_id`
    comes from `call_tracker.originate_action_id`.

    Raises `InvalidCallVariable` for a variable that could not be passed intact (or would
    override one of OpenDeep's own) and `ValueError` for a bad number or ring time-out or a
    caller ID that could not travel in one header (the setting checks its form).
    """
    if not E164.match(number):
        raise ValueError(f"the number to dial must be E.164 (+ and digits), got {number!r}")
    if not 1 <= ring_timeout_s <= 600:
        raise ValueError(f"ring time-out must be 1–600 s, got {ring_timeout_s}")
    own = {
        "CALL_UUID": ids.call_uuid,
        "TASK_ID": str(task_id),
        "USER_ID": str(user_id),
        "RECORDING": "1" if recording else "0",
        "RING_TIMEOUT": str(ring_timeout_s),
    }
    extra = dict(variables or {})
    for name, value in extra.items():
        if name.upper() in RESERVED_VARIABLES:
            raise InvalidCallVariable(f"variable {name!r} is set by OpenDeep itself")
        check_variable(name, value)
    if any(ord(c) < 32 or ord(c) == 127 for c in caller_id):
        raise ValueError(f"caller ID {caller_id!r} has control characters")
    action: AmiAction = {
        "Action": "Originate",
        "ActionID": action_id,
        "Channel": f"Local/{number}@{OUTBOUND_CONTEXT}",
        "Context": AGENT_CONTEXT,
        "Exten": "s",
        "Priority": "1",
        "Async": "true",
        "Timeout": str((ring_timeout_s + ORIGINATE_MARGIN_S) * 1000),
        "ChannelId": ids.channel_id,
        "OtherChannelId": ids.other_channel_id,
        "Variable": [f"{k}={v}" for k, v in {**own, **extra}.items()],
    }
    if caller_id:  # never an empty header: Asterisk would blank the channel's caller ID
        action["CallerID"] = caller_id
    return action


def check_variable(name: str, value: str) -> None:
    """Raise `InvalidCallVariable` unless NAME=value can travel in one AMI Variable header."""
    if not _VAR_NAME.match(name):
        raise InvalidCallVariable(
            f"channel variable name {name!r} must be letters, digits and _ (not first a digit)"
        )
    if not isinstance(value, str) or not _VAR_VALUE.match(value):
        raise InvalidCallVariable(
            f"channel variable {name}={value!r}: values are at most 256 characters without "
            "commas, quotes, backslashes or control characters"
        )
