"""The call tracker under reordered, repeated and malformed AMI events (property-based).

Each realistic call is a few event streams — one per channel (the ;1 half, the ;2 half, the
trunk) and the Originate's response. Asterisk keeps the order within a channel, not across
them, so the streams are interleaved at random; some events are delivered twice. Whatever the
interleaving, the tracker must not raise, its state must never move backwards, and the call
must end with the outcome it really had and the ;1 half's hangup cause. A harsher test drops
the per-channel order altogether: the tracker keeps facts, so even then the outcome holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain import CallOutcome, CallState
from telephony.call_tracker import CallTracker
from tests.telephony.test_call_tracker import (
    CID,
    T0,
    TRUNK,
    Event,
    ev,
    half2,
    originate_response,
    primary,
    trunk,
)

ORDER = [CallState.ORIGINATING, CallState.RINGING, CallState.ANSWERED, CallState.ENDED]
FUZZ = settings(max_examples=60, deadline=None)


@dataclass(frozen=True)
class Call:
    streams: tuple[tuple[Event, ...], ...]  # each in the order Asterisk raises it
    outcome: CallOutcome
    cause: int | None


def _hangup(cause: str, text: str) -> dict[str, str]:
    return {"Cause": cause, "Cause-txt": text}


def _var(make: Callable[..., Event], name: str, value: str) -> Event:
    # Channel variables the dialplan sets: no handler, they must change nothing.
    return make("VarSet", Variable=name, Value=value)


def _unanswered(
    outcome: CallOutcome, cause: str, text: str, dial_status: str, reason: str, *, rang: bool
) -> Call:
    ring = [("Newstate", {"ChannelState": "5", "ChannelStateDesc": "Ringing"})] if rang else []
    return Call(
        streams=(
            (
                primary("Newchannel", ChannelState="0", ChannelStateDesc="Down"),
                _var(primary, "TASK_ID", "7"),
                *(primary(n, **h) for n, h in ring),
                primary("Hangup", **_hangup(cause, text)),
            ),
            (
                half2("Newchannel", ChannelState="4", ChannelStateDesc="Ring"),
                half2("DialBegin", DestChannel=TRUNK, DestUniqueid="1700000000.7"),
                *([half2("DialState", DestChannel=TRUNK, DialStatus="RINGING")] if rang else []),
                half2("DialEnd", DestChannel=TRUNK, DialStatus=dial_status),
                _var(half2, "DIALSTATUS", dial_status),
                half2("Hangup", **_hangup(cause, text)),
            ),
            (
                trunk("Newchannel", ChannelState="0", ChannelStateDesc="Down"),
                *(trunk(n, **h) for n, h in ring),
                trunk("Hangup", **_hangup(cause, text)),
            ),
            (originate_response("Failure", reason),),
        ),
        outcome=outcome,
        cause=int(cause),
    )


def _answered(amd: str) -> Call:
    return Call(
        streams=(
            (
                primary("Newchannel", ChannelState="0", ChannelStateDesc="Down"),
                primary("Newstate", ChannelState="5", ChannelStateDesc="Ringing"),
                primary("Newstate", ChannelState="6", ChannelStateDesc="Up"),
                _var(primary, "AMDSTATUS", amd),
                ev("UserEvent", UserEvent="OpenDeepAMD", CallUUID=CID, Status=amd, Cause="x"),
                ev("UserEvent", UserEvent="OpenDeepRecording", CallUUID=CID, File=f"{CID}.wav"),
                primary("Hangup", **_hangup("16", "Normal Clearing")),
            ),
            (
                half2("Newchannel", ChannelState="4", ChannelStateDesc="Ring"),
                half2("DialBegin", DestChannel=TRUNK, DestUniqueid="1700000000.7"),
                half2("DialEnd", DestChannel=TRUNK, DialStatus="ANSWER"),
                half2("Newstate", ChannelState="6", ChannelStateDesc="Up"),
                half2("Hangup", **_hangup("16", "Normal Clearing")),
            ),
            (
                trunk("Newchannel", ChannelState="0", ChannelStateDesc="Down"),
                trunk("Newstate", ChannelState="5", ChannelStateDesc="Ringing"),
                trunk("Newstate", ChannelState="6", ChannelStateDesc="Up"),
                trunk("Hangup", **_hangup("16", "Normal Clearing")),
            ),
            (originate_response("Success", "4"),),
        ),
        outcome=CallOutcome.VOICEMAIL if amd == "MACHINE" else CallOutcome.ANSWERED,
        cause=16,
    )


CALLS = {
    "answered": _answered("HUMAN"),
    "voicemail": _answered("MACHINE"),
    "busy": _unanswered(CallOutcome.BUSY, "17", "User busy", "BUSY", "5", rang=False),
    "no answer": _unanswered(
        CallOutcome.NO_ANSWER, "19", "User alerting, no answer", "NOANSWER", "3", rang=True
    ),
    # Reason 1 (hung up before answering) says nothing; the normal clearing of a call that
    # rang does: nobody picked up.
    "no answer, cleared normally": _unanswered(
        CallOutcome.NO_ANSWER, "16", "Normal Clearing", "NOANSWER", "1", rang=True
    ),
    "congestion": _unanswered(
        CallOutcome.CONGESTION, "34", "Circuit/channel congestion", "CONGESTION", "8", rang=False
    ),
    "failed (unallocated)": _unanswered(
        CallOutcome.FAILED, "1", "Unallocated", "CHANUNAVAIL", "0", rang=False
    ),
    "failed before any channel": Call(
        ((originate_response("Failure", "0"),),), CallOutcome.FAILED, None
    ),
}


@st.composite
def interleaved(draw: st.DrawFn, keep_channel_order: bool = True) -> tuple[Call, list[Event]]:
    """A call's events in an order Asterisk could deliver them, some of them twice."""
    call = CALLS[draw(st.sampled_from(sorted(CALLS)))]
    if keep_channel_order:
        labels = [i for i, stream in enumerate(call.streams) for _ in stream]
        order = draw(st.permutations(labels))
        queues = [list(s) for s in call.streams]
        events = [queues[i].pop(0) for i in order]
    else:
        events = list(draw(st.permutations([e for s in call.streams for e in s])))
    for _ in range(draw(st.integers(0, 4))):
        source = draw(st.integers(0, len(events) - 1))
        at = draw(st.integers(source + 1, len(events)))
        events.insert(at, dict(events[source]))
    return call, events


def _run(events: list[Event]) -> CallTracker:
    tracker = CallTracker(CID)
    rank = 0
    for i, event in enumerate(events):
        tracker.apply(event, T0 + dt.timedelta(seconds=i))
        state = tracker.snapshot().state
        assert ORDER.index(state) >= rank, f"moved back to {state} at event {i}: {event}"
        rank = ORDER.index(state)
    return tracker


def _check(call: Call, tracker: CallTracker) -> None:
    snap = tracker.snapshot()
    assert (snap.state, snap.outcome, snap.hangup_cause) == (
        CallState.ENDED,
        call.outcome,
        call.cause,
    )
    assert snap.ended_at is not None
    if snap.answered_at is not None:
        assert snap.answered_at <= snap.ended_at


@FUZZ
@given(interleaved())
def test_any_delivery_order_ends_as_the_call_did(case: tuple[Call, list[Event]]) -> None:
    call, events = case
    _check(call, _run(events))


@FUZZ
@given(interleaved(keep_channel_order=False))
def test_even_with_no_order_at_all_the_outcome_holds(case: tuple[Call, list[Event]]) -> None:
    call, events = case
    _check(call, _run(events))


HEADERS = (
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "Cause",
    "Cause-txt",
    "Reason",
    "Response",
    "DialStatus",
    "DestUniqueid",
    "UserEvent",
    "Status",
    "File",
    "Variable",
    "Value",
)
EVENTS = (
    "Newchannel",
    "Newstate",
    "DialBegin",
    "DialState",
    "DialEnd",
    "Hangup",
    "OriginateResponse",
    "UserEvent",
    "VarSet",
    "",
)
OTHER = "33333333-3333-5333-8333-333333333333"
junk_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["", " ", "<null>", "6", "5", "-1", "99999999999999999999", "MACHINE", "Success"]
    ),
)


@st.composite
def junk(draw: st.DrawFn, owner: str) -> Event:
    """An event with random header values; `owner` is whose call its ids name."""
    event = {h: draw(junk_text) for h in draw(st.lists(st.sampled_from(HEADERS), unique=True))}
    event["Event"] = draw(st.sampled_from(EVENTS))
    for key in draw(st.lists(st.sampled_from(["Uniqueid", "Linkedid", "CallUUID"]), max_size=3)):
        event[key] = owner
    if event["Event"] == "OriginateResponse" and draw(st.booleans()):
        event["ActionID"] = f"opendeep-originate/{owner}/{draw(st.text(max_size=4))}"
    return event


@FUZZ
@given(interleaved(), st.lists(junk(OTHER), max_size=8), st.randoms(use_true_random=False))
def test_another_calls_malformed_events_change_nothing(
    case: tuple[Call, list[Event]], noise: list[Event], rnd: Random
) -> None:
    call, events = case
    for event in noise:
        events.insert(rnd.randint(0, len(events)), event)
    _check(call, _run(events))


@FUZZ
@given(st.lists(junk(CID), max_size=20))
def test_malformed_events_of_the_call_never_raise(events: list[Event]) -> None:
    tracker = CallTracker(CID)
    for i, event in enumerate(events):
        tracker.apply(event, T0 + dt.timedelta(seconds=i))
    snap = tracker.snapshot()
    assert (snap.outcome is None) == (snap.state is not CallState.ENDED)
    if snap.answered_at is not None and snap.ended_at is not None:
        assert snap.answered_at <= snap.ended_at
