"""The per-call state machine, fed event sequences shaped like Asterisk 22's (plain dicts)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from core.db.models import CallOutcome, CallState
from telephony.call_tracker import CallTracker, call_key, originate_action_id

CID = "11111111-1111-5111-8111-111111111111"  # ;1 half (ChannelId)
OTHER = "22222222-2222-5222-8222-222222222222"  # ;2 half (OtherChannelId)
T0 = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
L1 = "Local/+12125550101@opendeep-outbound-00000001;1"
L2 = "Local/+12125550101@opendeep-outbound-00000001;2"
TRUNK = "PJSIP/opendeep-sim-00000002"

ACTION = originate_action_id(CID, "n1")

Event = dict[str, str]


def ev(name: str, **headers: str) -> Event:
    return {"Event": name, **headers}


def primary(name: str, **headers: str) -> Event:
    return ev(name, Channel=L1, Uniqueid=CID, Linkedid=CID, **headers)


def half2(name: str, **headers: str) -> Event:
    return ev(name, Channel=L2, Uniqueid=OTHER, Linkedid=CID, **headers)


def trunk(name: str, **headers: str) -> Event:
    return ev(name, Channel=TRUNK, Uniqueid="1700000000.7", Linkedid=CID, **headers)


def originate_response(response: str, reason: str) -> Event:
    return ev(
        "OriginateResponse",
        ActionID=ACTION,
        Response=response,
        Reason=reason,
        Uniqueid=CID,
        Channel="Local/+12125550101@opendeep-outbound",
    )


START = [
    primary("Newchannel", ChannelState="0", ChannelStateDesc="Down"),
    half2("Newchannel", ChannelState="4", ChannelStateDesc="Ring"),
    trunk("Newchannel", ChannelState="0", ChannelStateDesc="Down"),
    half2("DialBegin", DestChannel=TRUNK, DestUniqueid="1700000000.7"),
]
RINGING = [
    trunk("Newstate", ChannelState="5", ChannelStateDesc="Ringing"),
    primary("Newstate", ChannelState="5", ChannelStateDesc="Ringing"),
]
ANSWERED = [
    trunk("Newstate", ChannelState="6", ChannelStateDesc="Up"),
    half2("DialEnd", DestChannel=TRUNK, DestUniqueid="1700000000.7", DialStatus="ANSWER"),
    primary("Newstate", ChannelState="6", ChannelStateDesc="Up"),
    originate_response("Success", "4"),
    ev("UserEvent", UserEvent="OpenDeepAMD", CallUUID=CID, Status="HUMAN", Cause="HUMAN-1000-1000"),
    ev(
        "UserEvent",
        UserEvent="OpenDeepRecording",
        CallUUID=CID,
        File=f"/var/spool/asterisk/recordings/{CID}.wav",
    ),
]


def hangup(cause: str, text: str) -> list[Event]:
    return [
        trunk("Hangup", Cause=cause, **{"Cause-txt": text}),
        half2("Hangup", Cause=cause, **{"Cause-txt": text}),
        primary("Hangup", Cause=cause, **{"Cause-txt": text}),
    ]


SCENARIOS: dict[str, tuple[list[Event], CallOutcome, int | None, str | None]] = {
    "human, then normal clearing": (
        START + RINGING + ANSWERED + hangup("16", "Normal Clearing"),
        CallOutcome.ANSWERED,
        16,
        "Normal Clearing",
    ),
    "busy": (
        [
            *START,
            half2("DialEnd", DestChannel=TRUNK, DialStatus="BUSY"),
            *hangup("17", "User busy"),
            originate_response("Failure", "5"),
        ],
        CallOutcome.BUSY,
        17,
        "User busy",
    ),
    "no answer (ring time-out in the dialplan)": (
        [
            *START,
            *RINGING,
            *hangup("19", "User alerting, no answer"),
            originate_response("Failure", "3"),
        ],
        CallOutcome.NO_ANSWER,
        19,
        "User alerting, no answer",
    ),
    "congestion": (
        [*START, *hangup("34", "Circuit/channel congestion"), originate_response("Failure", "8")],
        CallOutcome.CONGESTION,
        34,
        "Circuit/channel congestion",
    ),
    "unallocated number": (
        [
            *START,
            *hangup("1", "Unallocated (unassigned) number"),
            originate_response("Failure", "0"),
        ],
        CallOutcome.FAILED,
        1,
        "Unallocated (unassigned) number",
    ),
    "originate failed before any channel": (
        [originate_response("Failure", "0")],
        CallOutcome.FAILED,
        None,
        "Originate failed (reason 0: failed)",
    ),
    "answering machine": (
        [
            *START,
            *ANSWERED[:4],
            ev(
                "UserEvent",
                UserEvent="OpenDeepAMD",
                CallUUID=CID,
                Status="MACHINE",
                Cause="LONGGREETING-2000-1500",
            ),
            *hangup("16", "Normal Clearing"),
        ],
        CallOutcome.VOICEMAIL,
        16,
        "Normal Clearing",
    ),
}


def soft_hangup(flags: str) -> list[Event]:
    """`SoftHangupRequest` on every channel of the call; `Cause` is Asterisk's soft-hangup flags."""
    return [make("SoftHangupRequest", Cause=flags) for make in (half2, primary, trunk)]


def test_a_call_cut_by_asterisk_stopping_is_a_technical_failure() -> None:
    """`core restart now` on Asterisk 22, as the development PBX sent it: SHUTDOWN (4) on every
    channel, then what every end sends (16), then a Hangup whose cause reads like any other."""
    events = [
        *START,
        *RINGING,
        *ANSWERED,
        *soft_hangup("4"),
        *soft_hangup("16"),
        primary("Hangup", Cause="0", **{"Cause-txt": "Unknown"}),
        half2("Hangup", Cause="16", **{"Cause-txt": "Normal Clearing"}),
    ]
    tracker = CallTracker(CID)
    for i, event in enumerate(events):
        tracker.apply(event, T0 + dt.timedelta(seconds=i))
    snap = tracker.snapshot()
    assert (snap.state, snap.outcome) == (CallState.ENDED, CallOutcome.TECHNICAL_FAILURE)
    assert snap.pbx_stopped and snap.end_reason == "Asterisk shut down or restarted during the call"
    assert (snap.hangup_cause, snap.hangup_cause_text) == (0, "Unknown")
    assert snap.answered_at is not None


@pytest.mark.parametrize(
    ("flags", "stopped"),
    [("4", True), ("20", True), ("16", False), ("32", False), ("8", False), ("", False)],
    ids=["shutdown", "shutdown-and-16", "ordinary-end", "explicit", "timeout", "none"],
)
def test_only_a_stopping_asterisk_marks_the_call(flags: str, stopped: bool) -> None:
    """Every ordinary end of a call on the development PBX (callee or OpenDeep hanging up,
    busy, ring time-out) sends 16; a hang-up asked for by hand (`channel request hangup`: 32)
    or a dialplan time-out (8) is an ordinary end too."""
    tracker = CallTracker(CID)
    for i, event in enumerate([*START, *ANSWERED, *soft_hangup(flags), *hangup("16", "x")]):
        tracker.apply(event, T0 + dt.timedelta(seconds=i))
    snap = tracker.snapshot()
    assert snap.pbx_stopped is stopped
    assert snap.outcome is (CallOutcome.TECHNICAL_FAILURE if stopped else CallOutcome.ANSWERED)
    assert snap.end_reason == (
        "Asterisk shut down or restarted during the call" if stopped else None
    )


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenarios(name: str) -> None:
    events, outcome, cause, text = SCENARIOS[name]
    tracker = CallTracker(CID)
    for i, event in enumerate(events):
        tracker.apply(event, T0 + dt.timedelta(seconds=i))
    snap = tracker.snapshot()
    assert snap.state is CallState.ENDED
    assert snap.outcome is outcome
    assert (snap.hangup_cause, snap.hangup_cause_text) == (cause, text)
    assert snap.ended_at is not None


def test_the_states_in_order_and_what_is_recorded() -> None:
    tracker = CallTracker(CID)
    seen = []
    for i, event in enumerate(START + RINGING + ANSWERED + hangup("16", "Normal Clearing")):
        tracker.apply(event, T0 + dt.timedelta(seconds=i))
        if not seen or seen[-1] is not tracker.snapshot().state:
            seen.append(tracker.snapshot().state)
    assert seen == [CallState.ORIGINATING, CallState.RINGING, CallState.ANSWERED, CallState.ENDED]
    snap = tracker.snapshot()
    assert snap.channel == L1
    assert snap.answered_at == T0 + dt.timedelta(seconds=len(START) + len(RINGING) + 2)
    assert snap.amd_status == "HUMAN"
    assert snap.amd_cause == "HUMAN-1000-1000"
    assert snap.recording_path == f"/var/spool/asterisk/recordings/{CID}.wav"
    assert snap.dial_status == "ANSWER"
    assert snap.originate_reason == 4


def test_ringing_from_dial_state() -> None:
    tracker = CallTracker(CID)
    tracker.apply(half2("DialState", DestChannel=TRUNK, DialStatus="RINGING"), T0)
    assert tracker.snapshot().state is CallState.RINGING


def test_the_second_half_going_up_does_not_answer_the_call() -> None:
    tracker = CallTracker(CID)
    tracker.apply(half2("Newstate", ChannelState="6", ChannelStateDesc="Up"), T0)
    assert tracker.snapshot().state is CallState.ORIGINATING


def test_channel_state_by_description_only() -> None:
    tracker = CallTracker(CID)
    tracker.apply(ev("Newstate", Uniqueid=CID, Linkedid=CID, ChannelStateDesc="Up"), T0)
    assert tracker.snapshot().state is CallState.ANSWERED


def test_duplicates_change_nothing() -> None:
    events = START + RINGING + ANSWERED + hangup("16", "Normal Clearing")
    once = CallTracker(CID)
    twice = CallTracker(CID)
    for i, event in enumerate(events):
        once.apply(event, T0 + dt.timedelta(seconds=i))
        twice.apply(event, T0 + dt.timedelta(seconds=i))
        assert not twice.apply(event, T0 + dt.timedelta(seconds=i, milliseconds=500))
    assert once.snapshot() == twice.snapshot()


@pytest.mark.parametrize(
    "order",
    list(
        itertools.permutations(
            [
                primary("Newstate", ChannelState="5", ChannelStateDesc="Ringing"),
                primary("Newstate", ChannelState="6", ChannelStateDesc="Up"),
                originate_response("Success", "4"),
                primary("Hangup", Cause="16", **{"Cause-txt": "Normal Clearing"}),
            ]
        )
    ),
)
def test_any_order_ends_the_same(order: tuple[Event, ...]) -> None:
    tracker = CallTracker(CID)
    for i, event in enumerate(order):
        tracker.apply(event, T0 + dt.timedelta(seconds=i))
    snap = tracker.snapshot()
    assert snap.state is CallState.ENDED
    assert snap.outcome is CallOutcome.ANSWERED
    assert snap.hangup_cause == 16
    assert snap.answered_at is not None and snap.ended_at is not None
    assert snap.answered_at <= snap.ended_at


def test_a_late_ringing_does_not_move_an_answered_call_back() -> None:
    tracker = CallTracker(CID)
    tracker.apply(primary("Newstate", ChannelState="6"), T0)
    tracker.apply(primary("Newstate", ChannelState="5"), T0)
    assert tracker.snapshot().state is CallState.ANSWERED


def test_a_late_cause_refines_an_early_failure() -> None:
    tracker = CallTracker(CID)
    tracker.apply(originate_response("Failure", "0"), T0)
    assert tracker.snapshot().outcome is CallOutcome.FAILED
    assert tracker.apply(primary("Hangup", Cause="17", **{"Cause-txt": "User busy"}), T0)
    snap = tracker.snapshot()
    assert (snap.outcome, snap.hangup_cause, snap.ended_at) == (CallOutcome.BUSY, 17, T0)


def test_the_first_cause_is_kept() -> None:
    tracker = CallTracker(CID)
    tracker.apply(primary("Hangup", Cause="17", **{"Cause-txt": "User busy"}), T0)
    tracker.apply(primary("Hangup", Cause="16", **{"Cause-txt": "Normal Clearing"}), T0)
    assert tracker.snapshot().hangup_cause == 17


def test_other_calls_events_are_ignored() -> None:
    tracker = CallTracker(CID)
    other = "33333333-3333-5333-8333-333333333333"
    for event in [
        ev("Newstate", Uniqueid=other, Linkedid=other, ChannelState="6"),
        ev("Hangup", Uniqueid=other, Linkedid=other, Cause="16"),
        ev("UserEvent", UserEvent="OpenDeepAMD", CallUUID=other, Status="MACHINE"),
        ev(
            "OriginateResponse",
            ActionID=originate_action_id(other, "n1"),
            Response="Failure",
            Reason="0",
        ),
        ev("FullyBooted"),
    ]:
        assert not tracker.apply(event, T0)
    assert tracker.snapshot().state is CallState.ORIGINATING


def test_hangups_of_the_other_channels_do_not_end_the_call() -> None:
    tracker = CallTracker(CID)
    tracker.apply(trunk("Hangup", Cause="16"), T0)
    tracker.apply(half2("Hangup", Cause="16"), T0)
    assert not tracker.ended


def test_cancel_before_answer() -> None:
    tracker = CallTracker(CID)
    for event in START + RINGING:
        tracker.apply(event, T0)
    tracker.request_cancel()
    tracker.apply(primary("Hangup", Cause="16", **{"Cause-txt": "Normal Clearing"}), T0)
    assert tracker.snapshot().outcome is CallOutcome.CANCELLED


def test_cancel_after_answer_is_still_answered() -> None:
    tracker = CallTracker(CID)
    for event in START + ANSWERED:
        tracker.apply(event, T0)
    tracker.request_cancel()
    tracker.apply(primary("Hangup", Cause="16"), T0)
    assert tracker.snapshot().outcome is CallOutcome.ANSWERED


def test_refused_originate_and_then_someone_elses_events() -> None:
    tracker = CallTracker(CID)
    assert tracker.refuse("Asterisk refused the Originate: duplicate", T0)
    snap = tracker.snapshot()
    assert (snap.state, snap.outcome) == (CallState.ENDED, CallOutcome.TECHNICAL_FAILURE)
    assert snap.hangup_cause_text == "Asterisk refused the Originate: duplicate"
    # The live channel with this id belongs to another call: its events change nothing.
    assert not tracker.apply(primary("Newstate", ChannelState="6"), T0)
    assert not tracker.apply(primary("Hangup", Cause="16"), T0)


@pytest.mark.parametrize(
    ("before", "outcome"),
    [([], CallOutcome.FAILED), (RINGING, CallOutcome.FAILED), (ANSWERED, CallOutcome.ANSWERED)],
)
def test_end_unseen(before: list[Event], outcome: CallOutcome) -> None:
    tracker = CallTracker(CID)
    for event in before:
        tracker.apply(event, T0)
    assert tracker.end_unseen(T0, "unknown: events lost")
    snap = tracker.snapshot()
    assert (snap.state, snap.outcome, snap.hangup_cause) == (CallState.ENDED, outcome, None)
    assert snap.hangup_cause_text == "unknown: events lost"
    assert not tracker.end_unseen(T0, "again")


def test_mark_answered_from_a_listing() -> None:
    tracker = CallTracker(CID)
    assert tracker.mark_answered(T0)
    assert not tracker.mark_answered(T0 + dt.timedelta(seconds=1))
    assert tracker.snapshot().answered_at == T0


@pytest.mark.parametrize(
    ("event", "key"),
    [
        (primary("Hangup"), CID),
        (half2("Newstate"), CID),
        (ev("Newchannel", Uniqueid=CID), CID),
        (ev("UserEvent", UserEvent="OpenDeepAMD", CallUUID=CID), CID),
        (ev("OriginateResponse", ActionID=ACTION, Uniqueid="<null>"), CID),
        (ev("OriginateResponse", ActionID="somebody-else/1", Uniqueid=CID), CID),
        (ev("OriginateResponse", ActionID="somebody-else/1", Uniqueid="<null>"), None),
        (ev("FullyBooted"), None),
        (ev("Newchannel", Uniqueid="", Linkedid=""), None),
    ],
)
def test_call_key(event: Event, key: str | None) -> None:
    assert call_key(event) == key


def test_another_originate_of_the_same_attempt_is_not_ours() -> None:
    tracker = CallTracker(CID, ACTION)
    theirs = {**originate_response("Failure", "0"), "ActionID": originate_action_id(CID, "n2")}
    assert not tracker.apply(theirs, T0)
    assert not tracker.ended
    assert tracker.apply(originate_response("Failure", "0"), T0)
    assert tracker.ended


def test_refusing_after_the_end_keeps_the_end_time() -> None:
    tracker = CallTracker(CID, ACTION)
    tracker.apply(primary("Newstate", ChannelState="6"), T0)
    tracker.apply(originate_response("Failure", "0"), T0)
    assert tracker.refuse("duplicate", T0 + dt.timedelta(seconds=5))
    snap = tracker.snapshot()
    assert (snap.outcome, snap.ended_at) == (CallOutcome.TECHNICAL_FAILURE, T0)
