"""The prewarm decisions, event by event: a call's session opens on Originate, goes to its
bridge at answer (at once, or once the opening under way has finished), is closed when the call
is not answered or sits unused past its bound, and a failed opening leaves the bridge to connect
at answer. Random event orders never leave a session open."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media.prewarm_machine import (
    EXPIRED,
    CancelExpiry,
    Close,
    Command,
    ConnectAtAnswer,
    Dialled,
    Expired,
    HandOver,
    Input,
    Open,
    Opened,
    OpenFailed,
    PrewarmMachine,
    SetExpiry,
    ShuttingDown,
    Stage,
    Unneeded,
    Wanted,
)

A = "3f0c6f7e-8a59-4c9a-9d6e-0a4c3b1e2d11"
B = "6b1d2c3e-4f50-4a61-8b72-9c83d4e5f607"
BOUND_MS = 40_000  # ring 30 s + 10 s


def dialled(machine: PrewarmMachine, call_uuid: str = A) -> int:
    """Dial `call_uuid`; returns the expiry's token."""
    commands = machine.handle(Dialled(call_uuid, BOUND_MS))
    assert commands[0] == Open(call_uuid)
    expiry = commands[1]
    assert isinstance(expiry, SetExpiry) and expiry.delay_ms == BOUND_MS
    return expiry.token


def test_a_dialled_call_opens_its_session_once_with_its_bound() -> None:
    machine = PrewarmMachine()
    assert machine.handle(Dialled(A, BOUND_MS)) == [Open(A), SetExpiry(A, BOUND_MS, 1)]
    assert machine.handle(Dialled(A, BOUND_MS)) == []  # one session per call
    assert machine.stage(A) is Stage.OPENING
    assert (machine.counts.started, machine.counts.opening_now) == (1, 1)


def test_an_answered_call_gets_its_ready_session() -> None:
    machine = PrewarmMachine()
    dialled(machine)
    assert machine.handle(Opened(A)) == []
    assert machine.stage(A) is Stage.READY and machine.counts.open_now == 1
    assert machine.handle(Wanted(A)) == [CancelExpiry(A), HandOver(A)]
    assert machine.stage(A) is None
    counts = machine.counts
    assert (counts.opened, counts.used, counts.open_now, counts.closed_unused) == (1, 1, 0, 0)
    # The bridge asks only once; a second ask (a resumed session) connects anew.
    assert machine.handle(Wanted(A)) == [
        ConnectAtAnswer(A, "no session was prewarmed for this call")
    ]


def test_answered_while_opening_the_bridge_waits_for_the_opening() -> None:
    machine = PrewarmMachine()
    dialled(machine)
    assert machine.handle(Wanted(A)) == [CancelExpiry(A)]
    assert machine.stage(A) is Stage.AWAITED
    assert machine.handle(Wanted(A)) == []  # the first ask is answered when the opening ends
    assert machine.handle(Opened(A)) == [HandOver(A)]
    assert (machine.counts.used, machine.counts.open_now, machine.counts.opening_now) == (1, 0, 0)


def test_a_failed_opening_leaves_the_waiting_bridge_to_connect_at_answer() -> None:
    machine = PrewarmMachine()
    dialled(machine)
    machine.handle(Wanted(A))
    [fallback] = machine.handle(OpenFailed(A, "no Realtime connection within 10 s"))
    assert isinstance(fallback, ConnectAtAnswer) and "within 10 s" in fallback.why
    assert (machine.counts.failed, machine.counts.opening_now) == (1, 0)


def test_a_failed_opening_before_answer_falls_back_at_answer() -> None:
    machine = PrewarmMachine()
    dialled(machine)
    assert machine.handle(OpenFailed(A, "refused")) == [CancelExpiry(A)]
    assert machine.handle(Wanted(A)) == [
        ConnectAtAnswer(A, "no session was prewarmed for this call")
    ]
    assert machine.counts.failed == 1 and machine.counts.open_now == 0


@pytest.mark.parametrize(
    "why", ["busy", "no answer", "the Originate was refused", "hung up while ringing"]
)
def test_an_unanswered_call_closes_its_open_session(why: str) -> None:
    machine = PrewarmMachine()
    dialled(machine)
    machine.handle(Opened(A))
    assert machine.handle(Unneeded(A, why)) == [CancelExpiry(A), Close(A, why)]
    counts = machine.counts
    assert (counts.opened, counts.closed_unused, counts.open_now, counts.used) == (1, 1, 0, 0)
    assert machine.handle(Unneeded(A, why)) == []  # the node forgets the call once more


def test_a_call_that_ends_while_its_session_opens_abandons_the_opening() -> None:
    machine = PrewarmMachine()
    dialled(machine)
    assert machine.handle(Unneeded(A, "busy")) == [CancelExpiry(A), Close(A, "busy")]
    assert (machine.counts.abandoned, machine.counts.opening_now) == (1, 0)
    # Should the opening report after all, what it opened is closed, not kept.
    [close] = machine.handle(Opened(A))
    assert isinstance(close, Close) and close.call_uuid == A
    assert machine.handle(OpenFailed(A, "cancelled")) == []


def test_a_session_unused_past_its_bound_is_closed() -> None:
    machine = PrewarmMachine()
    token = dialled(machine)
    machine.handle(Opened(A))
    assert machine.handle(Expired(A, token + 1)) == []  # not this session's bound
    assert machine.handle(Expired(A, token)) == [CancelExpiry(A), Close(A, EXPIRED)]
    assert (machine.counts.expired, machine.counts.closed_unused) == (1, 1)
    assert machine.handle(Wanted(A)) == [
        ConnectAtAnswer(A, "no session was prewarmed for this call")
    ]


def test_the_bound_does_not_take_a_session_its_bridge_waits_for() -> None:
    machine = PrewarmMachine()
    token = dialled(machine)
    machine.handle(Wanted(A))
    assert machine.handle(Expired(A, token)) == []
    assert machine.handle(Opened(A)) == [HandOver(A)]


def test_a_bridge_that_stops_waiting_closes_the_opening_and_is_answered() -> None:
    machine = PrewarmMachine()
    dialled(machine)
    machine.handle(Wanted(A))
    assert machine.handle(Unneeded(A, "gone")) == [
        CancelExpiry(A),
        Close(A, "gone"),
        ConnectAtAnswer(A, "gone"),
    ]
    assert machine.counts.abandoned == 1


def test_shutdown_closes_every_prewarmed_session() -> None:
    machine = PrewarmMachine()
    dialled(machine, A)
    dialled(machine, B)
    machine.handle(Opened(A))
    commands = machine.handle(ShuttingDown())
    closed = {c.call_uuid for c in commands if isinstance(c, Close)}
    assert closed == {A, B}
    assert len(machine) == 0
    counts = machine.counts
    assert (counts.closed_unused, counts.abandoned, counts.open_now, counts.opening_now) == (
        1,
        1,
        0,
        0,
    )


# --- random orders -----------------------------------------------------------------------------


@dataclass
class Driver:
    """Carries out the commands as the I/O would: openings run until the test completes them,
    `Close` cancels an opening silently or closes an open session."""

    machine: PrewarmMachine = field(default_factory=PrewarmMachine)
    opening: set[str] = field(default_factory=set)
    ready: set[str] = field(default_factory=set)
    used: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)

    def feed(self, event: Input) -> None:
        for command in self.machine.handle(event):
            self.run(command)

    def run(self, command: Command) -> None:
        match command:
            case Open(call_uuid=u):
                assert u not in self.opening and u not in self.ready
                self.opening.add(u)
            case SetExpiry(call_uuid=u, token=token):
                self.tokens[u] = token
            case HandOver(call_uuid=u):
                self.ready.remove(u)
                self.used.append(u)
            case Close(call_uuid=u):
                if u in self.opening:
                    self.opening.remove(u)  # cancelled: it reports nothing
                elif u in self.ready:
                    self.ready.remove(u)
                    self.closed.append(u)

    def complete(self, call_uuid: str, ok: bool) -> None:
        if call_uuid not in self.opening:
            return
        self.opening.remove(call_uuid)
        if ok:
            self.ready.add(call_uuid)
            self.feed(Opened(call_uuid))
        else:
            self.feed(OpenFailed(call_uuid, "refused"))


UUIDS = [A, B, "0d9c8b7a-6958-4433-a221-100f0e0d0c0b"]
steps = st.lists(
    st.tuples(
        st.sampled_from(["dial", "open", "fail", "want", "end", "expire"]),
        st.sampled_from(UUIDS),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_no_order_of_events_leaves_a_session_open(plan: list[tuple[str, str]]) -> None:
    d = Driver()
    for step, u in plan:
        if step == "dial":
            d.feed(Dialled(u, BOUND_MS))
        elif step in ("open", "fail"):
            d.complete(u, step == "open")
        elif step == "want":
            d.feed(Wanted(u))
        elif step == "end":
            d.feed(Unneeded(u, "the call ended"))
        elif u in d.tokens:
            d.feed(Expired(u, d.tokens[u]))
    # Every call ends; openings still under way finish either way.
    for u in UUIDS:
        d.feed(Unneeded(u, "the call ended"))
        d.complete(u, ok=True)
    assert not d.opening and not d.ready, "a session was left open"
    counts = d.machine.counts
    assert counts.open_now == counts.opening_now == 0 and len(d.machine) == 0
    assert counts.started == counts.opened + counts.failed + counts.abandoned
    assert counts.used == len(d.used)
    assert counts.opened == counts.used + counts.closed_unused
