"""What a call's conversation asks its driver to do: typed commands, carried out in order.

Realtime commands become client events (`media.realtime_events`); playout commands act on the
call's playout buffer; the rest are the database, the transcript, timers, tools and the line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core.domain import CallOutcome, EndedBy, TurnRole
from media.speech_activity import VoiceActivity


class Timer(StrEnum):
    AMD_POLL = "amd_poll"  # read the AMD verdict again (it may land after the socket connects)
    MACHINE_WAIT = "machine_wait"  # a machine that stays silent this long is a mailbox
    GREETING_WAIT = "greeting_wait"  # a person who says nothing this long is greeted anyway
    HOLD_LIMIT = "hold_limit"  # the agent has waited on hold as long as the campaign allows
    OWNER_ANSWER = "owner_answer"  # the owner's phone has rung this long unanswered
    OWNER_BRIEF = "owner_brief"  # the brief to the owner gets this long to be said and played
    DRAIN_RESPONSE = "drain_response"  # the last response gets this long to finish
    DRAIN_PLAYOUT = "drain_playout"  # and its audio this long to play out


# --- the Realtime session ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connect:
    """Open a Realtime session and configure it with `instructions` and the script's tools;
    answer with `Connected` or `ConnectFailed`.

    `respond_to_turns=False` configures turn detection without `create_response`: the server
    reports the callee's turns but leaves the next response to us (`RespondToTurns` turns it
    on) — so a person's "Hello?" is answered by our greeting, not by a response of the
    server's that races it."""

    instructions: str
    respond_to_turns: bool = True


@dataclass(frozen=True, slots=True)
class RespondToTurns:
    """`session.update` of turn detection with `create_response` on: from now on the server
    answers each callee turn it detects; with `on=False` it only reports them (on hold)."""

    on: bool = True


@dataclass(frozen=True, slots=True)
class CloseRealtime:
    """Close the Realtime connection (if one is open)."""


@dataclass(frozen=True, slots=True)
class CreateResponse:
    """`response.create`, with instructions for this response only when given."""

    instructions: str | None = None


@dataclass(frozen=True, slots=True)
class CancelResponse:
    """`response.cancel` of the response in progress."""


@dataclass(frozen=True, slots=True)
class Truncate:
    """`conversation.item.truncate`: the callee heard only `audio_end_ms` of the item."""

    item_id: str
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class SendToolOutput:
    """A tool's output to the model (`function_call_output`)."""

    call_id: str
    output: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SendNote:
    """A `system` message to the model (`conversation.item.create`): `text` is the script's
    note intro and the owner's words; the model takes it into its next response."""

    text: str


@dataclass(frozen=True, slots=True)
class StopListening:
    """Stop sending the callee's audio to the model (a mailbox needs no listening)."""


# --- the playout buffer ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Play:
    """Queue agent audio (G.711 μ-law, as the session sends it) of one response item."""

    audio: bytes = field(repr=False)
    item_id: str
    response_id: str
    to_owner: bool = False  # on the owner's leg (the brief), not the callee's


@dataclass(frozen=True, slots=True)
class FlushPlayout:
    """The item's audio is complete: queue its last partial frame."""

    to_owner: bool = False


@dataclass(frozen=True, slots=True)
class ClearPlayout:
    """Drop everything queued; answer with `PlayoutCleared`."""


@dataclass(frozen=True, slots=True)
class WatchPlayout:
    """Answer with `PlayoutDrained` once everything queued has been played."""

    to_owner: bool = False


# --- tools -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PressKeys:
    """Press keypad keys on the call (`w` pauses half a second); answer with `ToolResult`."""

    digits: str


@dataclass(frozen=True, slots=True)
class AskOwner:
    """Ask the owner a live question and wait (bounded) for the answer; answer with
    `OwnerAnswer`."""

    question: str


@dataclass(frozen=True, slots=True)
class RecordFact:
    """Record a fact with the callee's words; answer with `ToolResult`."""

    name: str
    value: str
    quote: str


ToolRequest = PressKeys | AskOwner | RecordFact


@dataclass(frozen=True, slots=True)
class StartTool:
    """Run a tool in a task of its own (the event flow must never wait for it); answer with
    `ToolResult`, `OwnerAnswer` or `ToolFailed`."""

    call_id: str
    request: ToolRequest


# --- handing the call over to the owner ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class DialOwner:
    """Ring the owner's phone (`number`) on a leg of its own, for `ring_s` at most; its audio
    comes to this call's driver: answer with `OwnerLegUp` when the owner answers,
    `OwnerLegFailed` when the leg cannot be placed, `OwnerLegEnded` when it closes."""

    number: str
    ring_s: int


@dataclass(frozen=True, slots=True)
class HangUpOwner:
    """Hang up the owner's leg (ringing or answered); nothing when there is none."""


@dataclass(frozen=True, slots=True)
class BridgeLegs:
    """Bridge the callee's leg with the owner's in the PBX (the agent's audio leaves both);
    answer with `LegsBridged`."""


# --- the record of the call ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WriteTurn:
    """A transcript turn (never waits for the database)."""

    role: TurnRole
    text: str


@dataclass(frozen=True, slots=True)
class MarkNote:
    """Record what became of the owner's note `note_id`: "delivered", or why it was not."""

    note_id: int
    outcome: str


@dataclass(frozen=True, slots=True)
class MarkOutcome:
    outcome: CallOutcome
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ReadAmd:
    """Read the call's AMD status again; answer with `AmdVerdict`."""


@dataclass(frozen=True, slots=True)
class LoadHistory:
    """Store the turns written so far and read the transcript back; answer with
    `HistoryLoaded`."""


@dataclass(frozen=True, slots=True)
class FlushTurns:
    """Wait (bounded) until the call's turns so far are stored."""


@dataclass(frozen=True, slots=True)
class StoreVoiceActivity:
    activity: VoiceActivity


# --- time and the line ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetTimer:
    """Hand in `TimerFired(timer, token)` after `delay_ms`; replaces the timer if it runs."""

    timer: Timer
    delay_ms: int
    token: int


@dataclass(frozen=True, slots=True)
class CancelTimer:
    timer: Timer


@dataclass(frozen=True, slots=True)
class HangUp:
    """End the call now (through telephony, else over AudioSocket)."""

    ended_by: EndedBy
    reason: str


RealtimeCommand = (
    CreateResponse | CancelResponse | Truncate | SendToolOutput | RespondToTurns | SendNote
)

Command = (
    Connect
    | CloseRealtime
    | RealtimeCommand
    | StopListening
    | Play
    | FlushPlayout
    | ClearPlayout
    | WatchPlayout
    | StartTool
    | DialOwner
    | HangUpOwner
    | BridgeLegs
    | WriteTurn
    | MarkNote
    | MarkOutcome
    | ReadAmd
    | LoadHistory
    | FlushTurns
    | StoreVoiceActivity
    | SetTimer
    | CancelTimer
    | HangUp
)
