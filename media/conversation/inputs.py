"""What a call's conversation is told: typed inputs, each handed in with the monotonic time.

The Realtime server's events (`media.realtime_events`) and the callee's DTMF and error frames
(`media.session`) are inputs as they are; the rest are named here. Some inputs answer a command
(`PlayoutCleared` answers `ClearPlayout`, `Connected` answers `Connect`): the driver hands them
in as soon as it has carried the command out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from media.call_script import CallScript
from media.conversation.commands import Timer
from media.playout import Cleared
from media.realtime_events import ServerEvent
from media.session import Dtmf, EndReason, PeerError


@dataclass(frozen=True, slots=True)
class CallStarted:
    """The call is up and its script is written; `amd_status` is the dialplan's answering-
    machine verdict as far as it is known (None: not yet)."""

    script: CallScript
    amd_status: str | None = None


@dataclass(frozen=True, slots=True)
class AmdVerdict:
    """A reading of the call's AMD status (answers `ReadAmd`; None: still none)."""

    status: str | None


@dataclass(frozen=True, slots=True)
class Connected:
    """The Realtime session is open and configured (answers `Connect`)."""


@dataclass(frozen=True, slots=True)
class ConnectFailed:
    """The Realtime session could not be opened (answers `Connect`)."""

    problem: str


@dataclass(frozen=True, slots=True)
class RealtimeClosed:
    """The Realtime connection ended: `error` says why, None when the server closed it
    normally."""

    error: str | None = None


@dataclass(frozen=True, slots=True)
class CalleeAudio:
    """One frame of callee audio, measured: its length and RMS level (full scale 1.0), and what
    an echo of the agent's voice would follow — the levels of the agent's frames the line
    played since the previous callee frame, in order (0: silence), or one level: the frame it
    was playing as this one arrived."""

    duration_ms: float
    level: float
    played: float | tuple[float, ...] = 0.0


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool started with `StartTool` finished; `output` goes to the model as it is."""

    call_id: str
    output: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OwnerAnswer:
    """The owner's answer to an `AskOwner` tool (None: none came in time)."""

    call_id: str
    answer: str | None


@dataclass(frozen=True, slots=True)
class OwnerNote:
    """A note the owner sent the call's agent (`note_id`: its row), in their words."""

    note_id: int
    text: str


@dataclass(frozen=True, slots=True)
class ToolFailed:
    """A tool raised; `error` names what went wrong (the exception's type)."""

    call_id: str
    error: str


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer set with `SetTimer` ran out (`token` tells a stale one from the current)."""

    timer: Timer
    token: int


@dataclass(frozen=True, slots=True)
class PlayoutCleared:
    """What `ClearPlayout` dropped, and how much of the interrupted item had been played."""

    cleared: Cleared


@dataclass(frozen=True, slots=True)
class PlayoutDrained:
    """Everything queued for playing has been played (answers `WatchPlayout`)."""

    to_owner: bool = False


@dataclass(frozen=True, slots=True)
class TakeOver:
    """The owner asked to be called in (*Call me in* on the Live calls card)."""

    reason: str = "the owner asked to take the call over"


@dataclass(frozen=True, slots=True)
class OwnerLegUp:
    """The owner answered: their leg's audio reached this call's driver."""


@dataclass(frozen=True, slots=True)
class OwnerLegFailed:
    """The owner's leg could not be placed (answers `DialOwner`)."""

    problem: str


@dataclass(frozen=True, slots=True)
class OwnerLegEnded:
    """The owner's leg closed (they hung up, or the PBX bridged it)."""


@dataclass(frozen=True, slots=True)
class LegsBridged:
    """The PBX bridged the callee with the owner (answers `BridgeLegs`); `problem`: why not."""

    problem: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryLoaded:
    """The transcript so far as plain lines (answers `LoadHistory`)."""

    transcript: str


@dataclass(frozen=True, slots=True)
class BridgeFailed:
    """The driver hit an internal error it logged; the call cannot go on."""


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The line closed (the AudioSocket session ended) for `reason`."""

    reason: EndReason


Input = (
    CallStarted
    | AmdVerdict
    | Connected
    | ConnectFailed
    | RealtimeClosed
    | ServerEvent
    | CalleeAudio
    | Dtmf
    | PeerError
    | ToolResult
    | OwnerAnswer
    | OwnerNote
    | ToolFailed
    | TimerFired
    | PlayoutCleared
    | PlayoutDrained
    | TakeOver
    | OwnerLegUp
    | OwnerLegFailed
    | OwnerLegEnded
    | LegsBridged
    | HistoryLoaded
    | BridgeFailed
    | CallEnded
)
