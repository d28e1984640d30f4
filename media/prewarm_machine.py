"""Prewarming a call's Realtime session while its phone rings, without I/O.

Opening a Realtime session takes a network round trip or several (TCP, TLS, the WebSocket
upgrade) and configuring it one more. Done at answer, that is dead air after the callee's
"Hello?". So the session of a call is opened and configured once its Originate is out, and
handed to the call's bridge when the answered call's AudioSocket connects. A call that is not
answered (busy, no answer, the Originate refused, a hang-up while ringing) or whose session sits
unused past a bound (the ring timeout plus the answering-machine detection) has its session
closed; a session that could not be opened leaves the bridge to connect at answer, as it would
without prewarming.

`PrewarmMachine.handle(input)` returns the commands that carry this out, in order; it never
awaits, reads no clock and touches no socket (`media.prewarm` does the I/O). Its `counts` say
how many sessions were opened, used, and closed unused: `open_now` that stays above zero after
the calls ended is a leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.logging import get_logger

log = get_logger("opendeep.media.prewarm")

EXPIRED = "unused past its bound (ring timeout and answering-machine detection)"
SHUTDOWN = "the node is shutting down"


class Stage(StrEnum):
    OPENING = "opening"  # being opened and configured
    READY = "ready"  # open and configured, waiting for the call to be answered
    AWAITED = "awaited"  # the call was answered while it was still opening: its bridge waits


# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dialled:
    """The call's Originate is out: prewarm its session, unused for `unused_after_ms` at most."""

    call_uuid: str
    unused_after_ms: int


@dataclass(frozen=True, slots=True)
class Opened:
    """The session is open and configured (answers `Open`)."""

    call_uuid: str


@dataclass(frozen=True, slots=True)
class OpenFailed:
    """The session could not be opened or configured (answers `Open`)."""

    call_uuid: str
    problem: str


@dataclass(frozen=True, slots=True)
class Wanted:
    """The answered call's bridge asks for its session; answered with `HandOver` or
    `ConnectAtAnswer`, at once or once the opening under way has finished."""

    call_uuid: str


@dataclass(frozen=True, slots=True)
class Unneeded:
    """No call will use the session: the call ended unanswered, or its bridge went away."""

    call_uuid: str
    why: str


@dataclass(frozen=True, slots=True)
class Expired:
    """The bound set with `SetExpiry` ran out (`token` tells a stale one from the current)."""

    call_uuid: str
    token: int


@dataclass(frozen=True, slots=True)
class ShuttingDown:
    """Close every session still prewarmed."""


Input = Dialled | Opened | OpenFailed | Wanted | Unneeded | Expired | ShuttingDown


# --- commands --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Open:
    """Open and configure the call's session; answer with `Opened` or `OpenFailed` — or with
    nothing once `Close` abandoned the opening (whatever it had opened is closed then)."""

    call_uuid: str


@dataclass(frozen=True, slots=True)
class SetExpiry:
    """Hand in `Expired(call_uuid, token)` after `delay_ms`."""

    call_uuid: str
    delay_ms: int
    token: int


@dataclass(frozen=True, slots=True)
class CancelExpiry:
    call_uuid: str


@dataclass(frozen=True, slots=True)
class HandOver:
    """Give the call's open session to its bridge, which owns it from now on."""

    call_uuid: str


@dataclass(frozen=True, slots=True)
class ConnectAtAnswer:
    """Tell the call's bridge there is no prewarmed session: it opens one itself."""

    call_uuid: str
    why: str


@dataclass(frozen=True, slots=True)
class Close:
    """Close the call's session unused, or abandon its opening (and close what it opened)."""

    call_uuid: str
    why: str


Command = Open | SetExpiry | CancelExpiry | HandOver | ConnectAtAnswer | Close


@dataclass(slots=True)
class PrewarmCounts:
    """Sessions prewarmed since the start; `started = opened + failed + abandoned +
    opening_now` and `opened = used + closed_unused + open_now`."""

    started: int = 0  # openings started
    opened: int = 0  # sessions opened and configured
    used: int = 0  # handed to the call's bridge
    closed_unused: int = 0  # opened, then closed without a call using them
    abandoned: int = 0  # openings given up because the call ended first
    failed: int = 0  # openings that failed: the call connects at answer
    expired: int = 0  # of closed_unused and abandoned: those that sat past their bound
    opening_now: int = 0
    open_now: int = 0

    def to_json(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}

    def __add__(self, other: PrewarmCounts) -> PrewarmCounts:
        """Both prewarmers' counts together (a node's media workers each have one)."""
        return PrewarmCounts(**{n: getattr(self, n) + getattr(other, n) for n in self.__slots__})


@dataclass(slots=True)
class _Entry:
    stage: Stage
    token: int


class PrewarmMachine:
    """The prewarmed sessions of a node's calls, by call UUID (normalized by the caller)."""

    def __init__(self, *, logger: Any = None) -> None:
        self.counts = PrewarmCounts()
        self._log = logger if logger is not None else log
        self._entries: dict[str, _Entry] = {}
        self._tokens = 0

    def stage(self, call_uuid: str) -> Stage | None:
        """Where the call's session is (None: none prewarmed, or already handed over or
        closed)."""
        entry = self._entries.get(call_uuid)
        return entry.stage if entry else None

    def __len__(self) -> int:
        return len(self._entries)

    def handle(self, event: Input) -> list[Command]:
        """What to do about `event`."""
        match event:
            case Dialled(call_uuid=call_uuid, unused_after_ms=delay_ms):
                return self._dialled(call_uuid, delay_ms)
            case Opened(call_uuid=call_uuid):
                return self._opened(call_uuid)
            case OpenFailed(call_uuid=call_uuid, problem=problem):
                return self._failed(call_uuid, problem)
            case Wanted(call_uuid=call_uuid):
                return self._wanted(call_uuid)
            case Unneeded(call_uuid=call_uuid, why=why):
                return self._unneeded(call_uuid, why)
            case Expired(call_uuid=call_uuid, token=token):
                entry = self._entries.get(call_uuid)
                if entry is None or entry.token != token or entry.stage is Stage.AWAITED:
                    return []  # handed over, closed, or its bridge is waiting for it
                self.counts.expired += 1
                return self._unneeded(call_uuid, EXPIRED)
            case ShuttingDown():
                return [c for u in list(self._entries) for c in self._unneeded(u, SHUTDOWN)]
        return []

    # --- the moves ---------------------------------------------------------------------------

    def _dialled(self, call_uuid: str, delay_ms: int) -> list[Command]:
        if call_uuid in self._entries:
            return []  # one session per call
        self._tokens += 1
        self._entries[call_uuid] = _Entry(Stage.OPENING, self._tokens)
        self.counts.started += 1
        self.counts.opening_now += 1
        return [Open(call_uuid), SetExpiry(call_uuid, max(0, delay_ms), self._tokens)]

    def _opened(self, call_uuid: str) -> list[Command]:
        entry = self._entries.get(call_uuid)
        if entry is None or entry.stage is Stage.READY:
            # Only an opening still under way answers `Open`; a session nobody tracks is
            # closed rather than left open.
            self._log.warning("prewarm.untracked_session", call_uuid=call_uuid)
            return [Close(call_uuid, "no call is waiting for this session")]
        self.counts.opening_now -= 1
        self.counts.opened += 1
        if entry.stage is Stage.AWAITED:
            return self._hand_over(call_uuid)
        entry.stage = Stage.READY
        self.counts.open_now += 1
        return []

    def _failed(self, call_uuid: str, problem: str) -> list[Command]:
        entry = self._entries.get(call_uuid)
        if entry is None or entry.stage is Stage.READY:
            return []  # only an opening still under way answers `Open`
        del self._entries[call_uuid]
        self.counts.opening_now -= 1
        self.counts.failed += 1
        self._log.warning("prewarm.failed", call_uuid=call_uuid, problem=problem)
        if entry.stage is Stage.AWAITED:
            return [ConnectAtAnswer(call_uuid, f"the prewarmed session failed: {problem}")]
        return [CancelExpiry(call_uuid)]

    def _wanted(self, call_uuid: str) -> list[Command]:
        entry = self._entries.get(call_uuid)
        if entry is None:
            return [ConnectAtAnswer(call_uuid, "no session was prewarmed for this call")]
        if entry.stage is Stage.OPENING:
            # The opening under way started before any new one could: the bridge waits for it.
            entry.stage = Stage.AWAITED
            return [CancelExpiry(call_uuid)]
        if entry.stage is Stage.AWAITED:
            return []  # asked twice: the first answer serves
        self.counts.open_now -= 1
        return [CancelExpiry(call_uuid), *self._hand_over(call_uuid)]

    def _hand_over(self, call_uuid: str) -> list[Command]:
        del self._entries[call_uuid]
        self.counts.used += 1
        self._log.info("prewarm.used", call_uuid=call_uuid, **self.counts.to_json())
        return [HandOver(call_uuid)]

    def _unneeded(self, call_uuid: str, why: str) -> list[Command]:
        entry = self._entries.pop(call_uuid, None)
        if entry is None:
            return []
        if entry.stage is Stage.READY:
            self.counts.open_now -= 1
            self.counts.closed_unused += 1
        else:
            self.counts.opening_now -= 1
            self.counts.abandoned += 1
        self._log.info(
            "prewarm.closed_unused", call_uuid=call_uuid, why=why, **self.counts.to_json()
        )
        commands: list[Command] = [CancelExpiry(call_uuid), Close(call_uuid, why)]
        if entry.stage is Stage.AWAITED:
            commands.append(ConnectAtAnswer(call_uuid, why))
        return commands
