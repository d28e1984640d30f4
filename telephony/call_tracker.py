"""The state of one call, driven by AMI events (plain dicts; no I/O, no panoramisk types).

A call placed by OpenDeep is a Local channel pair: the ;1 half (`Uniqueid` = the attempt's
`ChannelId`) runs the agent once the callee answers; the ;2 half and the trunk channel it dials
share the ;1 half's `Linkedid`. So every event of the call carries the channel id as `Uniqueid`
or `Linkedid`, and the dialplan's `UserEvent`s carry it as `CallUUID`.

The tracker keeps *facts* (rang, answered at, ended at, cause, reason …) and derives the state
and the outcome from them, so duplicated or out-of-order events cannot move a call backwards
and a late fact (a cause after the end) still refines the outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace

from core.domain import CallOutcome, CallState
from telephony.call_outcome import OriginateReason, classify_end, parse_cause, parse_reason
from telephony.hangup_causes import cause_text

AmiEvent = Mapping[str, str]

ORIGINATE_ACTION_PREFIX = "opendeep-originate/"
# Channel states (`ChannelState` of Newchannel/Newstate): 5 Ringing (far end alerting), 6 Up.
_RINGING = "5"
_UP = "6"
_STATE_NUMBERS = {"ringing": _RINGING, "up": _UP}
# `SoftHangupRequest` carries Asterisk's soft-hangup flags as its `Cause`. SHUTDOWN (4) is what
# a stopping Asterisk (`core restart now`, `core stop now`) sets on every channel before its
# Hangup, whose cause then reads like an ordinary end (0 or 16); every ordinary end sends 16.
_SOFTHANGUP_SHUTDOWN = 4
PBX_STOPPED = "Asterisk shut down or restarted during the call"


def originate_action_id(channel_id: str, nonce: str) -> str:
    """The ActionID of one Originate of a call: its response then finds the call, and the
    nonce tells it from another node's Originate of the same attempt (AMI broadcasts
    `OriginateResponse` events to every session)."""
    return f"{ORIGINATE_ACTION_PREFIX}{channel_id}/{nonce}"


def call_key(event: AmiEvent) -> str | None:
    """The channel id of the OpenDeep call an event may belong to (None: not a call event).

    `Linkedid` first (every channel of the call shares it), then `Uniqueid`, the dialplan's
    `CallUUID`, and the ActionID of an `OriginateResponse` (which has no channel when the
    Originate failed early).
    """
    action_id = event.get("ActionID", "")
    if event.get("Event") == "OriginateResponse" and action_id.startswith(ORIGINATE_ACTION_PREFIX):
        return action_id[len(ORIGINATE_ACTION_PREFIX) :].split("/", 1)[0]
    for key in ("Linkedid", "Uniqueid", "CallUUID"):
        value = event.get(key, "").strip()
        if value and value != "<null>":
            return value
    return None


@dataclass(frozen=True, slots=True)
class CallSnapshot:
    """What is known about a call at one moment; `outcome` is set once it has ended."""

    channel_id: str
    state: CallState
    outcome: CallOutcome | None
    channel: str | None
    hangup_cause: int | None
    hangup_cause_text: str | None
    originate_reason: int | None
    dial_status: str | None
    amd_status: str | None
    amd_cause: str | None
    recording_path: str | None
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    pbx_stopped: bool = False  # Asterisk hung it up because it was stopping or restarting

    @property
    def ended(self) -> bool:
        return self.state is CallState.ENDED

    @property
    def end_reason(self) -> str | None:
        """Why it ended when neither side hung up, for the call's row (None otherwise)."""
        return PBX_STOPPED if self.pbx_stopped else None


@dataclass(frozen=True, slots=True)
class _Facts:
    channel: str | None = None
    rang: bool = False
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    cause: int | None = None
    cause_text: str | None = None
    reason: int | None = None
    dial_status: str | None = None
    amd_status: str | None = None
    amd_cause: str | None = None
    recording_path: str | None = None
    cancel_requested: bool = False
    refused: str | None = None  # why the PBX refused the Originate
    end_note: str | None = None  # why the call was ended without a Hangup event
    pbx_stopped: bool = False  # Asterisk hung it up because it was stopping or restarting


class CallTracker:
    """Follows one call from `originating` to `ended`. Feed it every event of the call."""

    def __init__(self, channel_id: str, action_id: str | None = None) -> None:
        self.channel_id = channel_id
        # The ActionID of this call's own Originate: another Originate's response (a second
        # node trying the same attempt) must not be taken for ours.
        self.action_id = action_id
        self._facts = _Facts()

    # --- inputs --------------------------------------------------------------------------
    def apply(self, event: AmiEvent, now: dt.datetime) -> bool:
        """Take one AMI event into account; True when the snapshot changed."""
        before = self._facts
        if before.refused is not None:
            # Refused: the live channel with this id, if any, is someone else's call.
            return False
        name = event.get("Event", "")
        handler = _HANDLERS.get(name)
        if handler is not None and self._concerns(event):
            self._facts = handler(self, self._facts, event, now)
        return self._facts != before

    def request_cancel(self) -> None:
        """OpenDeep is hanging the call up: an unanswered end then reads `cancelled`."""
        self._facts = replace(self._facts, cancel_requested=True)

    def refuse(self, why: str, now: dt.datetime) -> bool:
        """The PBX refused the Originate: the call ends (now, unless it already had) as a
        technical failure, and no later event is taken as this call's."""
        before = self._facts
        facts = replace(self._facts, refused=why)
        self._facts = _end(facts, now)
        return self._facts != before

    def mark_answered(self, now: dt.datetime) -> bool:
        """A channel listing shows the call up although its answer event was lost."""
        before = self._facts
        self._facts = _answer(self._facts, now)
        return self._facts != before

    def end_unseen(self, now: dt.datetime, note: str) -> bool:
        """The call's channel is gone and its end was never seen (events lost)."""
        before = self._facts
        if self._facts.ended_at is None:
            self._facts = _end(replace(self._facts, end_note=note), now)
        return self._facts != before

    # --- outputs -------------------------------------------------------------------------
    @property
    def ended(self) -> bool:
        return self._facts.ended_at is not None

    @property
    def channel(self) -> str | None:
        """The name of the ;1 half (`Local/<number>@opendeep-outbound-XXXXXXXX;1`), once seen."""
        return self._facts.channel

    @property
    def cancel_requested(self) -> bool:
        return self._facts.cancel_requested

    def snapshot(self) -> CallSnapshot:
        f = self._facts
        if f.ended_at is not None:
            state = CallState.ENDED
        elif f.answered_at is not None:
            state = CallState.ANSWERED
        elif f.rang:
            state = CallState.RINGING
        else:
            state = CallState.ORIGINATING
        outcome = None
        text = cause_text(f.cause, f.cause_text)
        if f.ended_at is not None:
            outcome = classify_end(
                answered=f.answered_at is not None,
                rang=f.rang,
                reason=f.reason,
                cause=f.cause,
                amd_status=f.amd_status,
                cancelled=f.cancel_requested,
                refused=f.refused is not None,
                pbx_stopped=f.pbx_stopped,
            )
            if text is None:
                text = f.refused or f.end_note or _reason_text(f.reason)
        return CallSnapshot(
            channel_id=self.channel_id,
            state=state,
            outcome=outcome,
            channel=f.channel,
            hangup_cause=f.cause,
            hangup_cause_text=text,
            originate_reason=f.reason,
            dial_status=f.dial_status,
            amd_status=f.amd_status,
            amd_cause=f.amd_cause,
            recording_path=f.recording_path,
            answered_at=f.answered_at,
            ended_at=f.ended_at,
            pbx_stopped=f.pbx_stopped,
        )

    # --- helpers -------------------------------------------------------------------------
    def _concerns(self, event: AmiEvent) -> bool:
        return call_key(event) == self.channel_id or event.get("Uniqueid") == self.channel_id

    def _is_primary(self, event: AmiEvent) -> bool:
        return event.get("Uniqueid") == self.channel_id


def _reason_text(reason: int | None) -> str | None:
    if reason is None:
        return None
    try:
        name = OriginateReason(reason).name.lower().replace("_", " ")
    except ValueError:
        name = "unknown"
    return f"Originate failed (reason {reason}: {name})"


def _channel_state(event: AmiEvent) -> str:
    state = event.get("ChannelState", "").strip()
    if state:
        return state
    return _STATE_NUMBERS.get(event.get("ChannelStateDesc", "").strip().lower(), "")


def _answer(f: _Facts, now: dt.datetime) -> _Facts:
    if f.answered_at is not None:
        return f
    # Learnt after the end (events out of order): it cannot have been answered later.
    at = min(now, f.ended_at) if f.ended_at is not None else now
    return replace(f, answered_at=at)


def _end(f: _Facts, now: dt.datetime) -> _Facts:
    return f if f.ended_at is not None else replace(f, ended_at=now)


def _on_newchannel(t: CallTracker, f: _Facts, e: AmiEvent, now: dt.datetime) -> _Facts:
    if t._is_primary(e) and f.channel is None and e.get("Channel"):
        f = replace(f, channel=e["Channel"])
    return _on_newstate(t, f, e, now)


def _on_newstate(t: CallTracker, f: _Facts, e: AmiEvent, now: dt.datetime) -> _Facts:
    state = _channel_state(e)
    if state == _RINGING and not f.rang:
        f = replace(f, rang=True)
    if state == _UP and t._is_primary(e):
        f = _answer(f, now)
    return f


def _on_dial_state(t: CallTracker, f: _Facts, e: AmiEvent, now: dt.datetime) -> _Facts:
    if e.get("DialStatus", "").upper() == "RINGING" and not f.rang:
        f = replace(f, rang=True)
    return f


def _on_dial_end(t: CallTracker, f: _Facts, e: AmiEvent, now: dt.datetime) -> _Facts:
    status = e.get("DialStatus", "").strip().upper()
    # The ;2 half's Dial of the trunk, not the Originate "dialling" the ;1 half.
    if status and e.get("DestUniqueid") != t.channel_id and f.dial_status is None:
        f = replace(f, dial_status=status)
    return f


def _on_originate_response(t: CallTracker, f: _Facts, e: AmiEvent, now: dt.datetime) -> _Facts:
    if t.action_id is not None and e.get("ActionID") != t.action_id:
        return f
    reason = parse_reason(e.get("Reason"))
    if f.reason is None and reason is not None:
        f = replace(f, reason=reason)
    if e.get("Response", "").lower() == "success" or reason == OriginateReason.ANSWERED:
        return _answer(f, now)
    # A failed Originate means the ;1 half is gone (or never was).
    return _end(f, now)


def _on_hangup(t: CallTracker, f: _Facts, e: AmiEvent, now: dt.datetime) -> _Facts:
    if not t._is_primary(e):
        return f
    if f.cause is None:
        f = replace(f, cause=parse_cause(e.get("Cause")), cause_text=e.get("Cause-txt") or None)
    return _end(f, now)


def _on_soft_hangup_request(t: CallTracker, f: _Facts, e: AmiEvent, now: dt.datetime) -> _Facts:
    flags = parse_cause(e.get("Cause")) or 0
    if flags & _SOFTHANGUP_SHUTDOWN and not f.pbx_stopped:
        return replace(f, pbx_stopped=True)
    return f


def _on_user_event(t: CallTracker, f: _Facts, e: AmiEvent, now: dt.datetime) -> _Facts:
    kind = e.get("UserEvent", "")
    if kind == "OpenDeepAMD":
        status = e.get("Status", "").strip() or None
        return replace(f, amd_status=status, amd_cause=e.get("Cause", "").strip() or None)
    if kind == "OpenDeepRecording":
        return replace(f, recording_path=e.get("File", "").strip() or f.recording_path)
    return f


_HANDLERS = {
    "Newchannel": _on_newchannel,
    "Newstate": _on_newstate,
    "DialState": _on_dial_state,
    "DialEnd": _on_dial_end,
    "OriginateResponse": _on_originate_response,
    "Hangup": _on_hangup,
    "SoftHangupRequest": _on_soft_hangup_request,
    "UserEvent": _on_user_event,
}
