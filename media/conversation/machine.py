"""The conversation of one call, without I/O: typed inputs in, typed commands out.

`Conversation.handle(input, now_ms)` takes what happened — a Realtime server event, a measured
frame of callee audio, a tool's result, a timer, the line closing — and returns what to do, in
order. It never reads a clock (the monotonic time comes with each input), never awaits, and
touches no socket or database, so every decision of a call is tested event by event in
microseconds: the mailbox check, or the greeting once a person's first words ended, barge-in
(clear the playout, cancel the response, truncate the item at what was played), mailbox vs. phone menu from the first words,
tool calls and the one `response.create` after all their outputs (`media.tool_turns`), the
evidence of the callee's voice (`media.speech_activity`), waiting on hold
(`media.conversation.hold`), the owner's notes to the agent (delivered as they come while a
session is up, held until one is, declined once the call is ending), the resumed session after
a lost connection, and the drain before hanging up. `media.bridge` carries the commands out.

The phases and the moves between them are in `media.conversation.phases`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from core.domain import HOLD_LIMIT_S, CallOutcome, EndedBy, TurnRole, TurnTaking
from core.logging import get_logger
from media.call_script import CallScript
from media.conversation.answering import who_answered
from media.conversation.commands import (
    BridgeLegs,
    CancelResponse,
    CancelTimer,
    ClearPlayout,
    CloseRealtime,
    Command,
    Connect,
    CreateResponse,
    DialOwner,
    FlushPlayout,
    FlushTurns,
    HangUp,
    HangUpOwner,
    LoadHistory,
    MarkNote,
    MarkOutcome,
    Play,
    ReadAmd,
    RealtimeCommand,
    RespondToTurns,
    SendNote,
    SendToolOutput,
    SetTimer,
    StartTool,
    StopListening,
    StoreVoiceActivity,
    Timer,
    TransferCallee,
    Truncate,
    WatchPlayout,
    WriteTurn,
)
from media.conversation.hold import Hold
from media.conversation.inputs import (
    AmdVerdict,
    BridgeFailed,
    CalleeAudio,
    CalleeTransferred,
    CallEnded,
    CallStarted,
    Connected,
    ConnectFailed,
    HistoryLoaded,
    Input,
    LegsBridged,
    OwnerAnswer,
    OwnerLegEnded,
    OwnerLegFailed,
    OwnerLegUp,
    OwnerNote,
    PlayoutCleared,
    PlayoutDrained,
    RealtimeClosed,
    TakeOver,
    TimerFired,
    ToolFailed,
    ToolResult,
)
from media.conversation.interruption import Interruption
from media.conversation.phases import TRANSITIONS, IllegalTransition, Phase
from media.conversation.tools import (
    EndCall,
    Refused,
    TransferCall,
    TransferToOwner,
    WaitOnHold,
    read_tool_call,
    transfer_number,
)
from media.echo import EchoCheck
from media.playout import Cleared
from media.realtime_events import (
    AgentTranscript,
    AudioDelta,
    AudioDone,
    CallerTranscript,
    CallerTranscriptFailed,
    FunctionCall,
    MalformedEvent,
    RealtimeError,
    ResponseCreated,
    ResponseDone,
    SpeechStarted,
    SpeechStopped,
)
from media.session import Dtmf, PeerError
from media.speech_activity import INAUDIBLE, CalleeVoice
from media.tool_turns import Then, ToolTurns

log = get_logger("opendeep.media.conversation")

CONNECTION_LOST = "the voice AI connection was lost"
NOTE_DELIVERED = "delivered"
NOTE_TOO_LATE = "not delivered: the call was ending"
INTERNAL_ERROR = "internal error in the call bridge"
# While the owner is rung, briefed and bridged, the callee's sounds bid for no turn: the agent
# has said it is connecting them, and its brief goes to the owner, not to them.
HANDING_OVER = frozenset({Phase.TRANSFERRING, Phase.BRIEFING, Phase.HANDED_OVER})
RING_MARGIN_MS = 5000  # the owner's leg: placing it and its answer reaching us, beyond the ring
NO_OWNER_PHONE = (
    "the owner has set no phone number to take calls on: tell the person they cannot come to "
    "the phone now and offer a callback"
)
HANDED_OVER = "handed over"
TRANSFERRED = "transferred to"
HANDED_OVER_TURN = "The owner took the call over; the agent left it. The recording goes on."


@dataclass(frozen=True, slots=True)
class Timing:
    """How long the conversation waits for what (milliseconds)."""

    # AMD runs before AudioSocket in the dialplan, but its AMI event may land a moment after
    # the socket connects: the verdict gets this grace period, read every `amd_poll_ms`.
    amd_wait_ms: int = 1000
    amd_poll_ms: int = 100
    machine_wait_ms: int = 6000  # a machine silent this long is a mailbox waiting for a message
    # A person picking up says "Hello?" within a second or so; unless AMD heard it end, the
    # agent waits for those words to end before it greets (talking over them is the surest
    # sign of a robot), and greets a callee who says nothing after this long.
    greeting_wait_ms: int = 1500
    drain_ms: int = 15000  # the last response may take this long to finish, then to play out


@dataclass(slots=True)
class ConversationResult:
    """How the conversation ended, for the attempt runner and the analyzer."""

    ended_by: EndedBy | None = None
    reason: str = ""
    voicemail: bool = False
    # A machine answered (AMD said MACHINE) whose first words were a phone menu's, a call
    # screener's or a queue's, and the call went on: it was answered, not a mailbox.
    not_a_mailbox: bool = False
    technical_failure: bool = False
    on_hold_ms: int = 0  # how long the callee kept the agent on hold, in all
    # The owner was rung to take the call over: "" (never), "handed over", or why not.
    handover: str = ""


@dataclass(slots=True)
class ConversationCounts:
    barge_ins: int = 0
    reconnects: int = 0
    malformed_events: int = 0  # server messages that were not valid events, left out
    notes: int = 0  # the owner's notes delivered to the model


class Conversation:
    """One call's conversation; feed it with `handle` and carry out what it returns, in order.

    `wall_epoch` is the wall-clock time at monotonic 0 ms: the callee's speech turns are
    stored with wall-clock times (the transcript's clock), computed from the input's `now_ms`.
    """

    def __init__(
        self, *, wall_epoch: dt.datetime, timing: Timing | None = None, logger: Any = None
    ) -> None:
        self.phase = Phase.STARTING
        self.result = ConversationResult()
        self.counts = ConversationCounts()
        self._epoch = wall_epoch
        self._timing = timing or Timing()
        self._log = logger if logger is not None else log
        self._now = 0
        self._script: CallScript | None = None
        self._amd_since = 0
        self._machine = False  # the dialplan's AMD said MACHINE: a mailbox, or a phone menu
        self._connected = False
        self._turns = ToolTurns()
        self._voice = CalleeVoice()
        self._tools: dict[str, str] = {}  # call id → tool name, while the tool runs
        self._timers: dict[Timer, int] = {}  # timer → token of the one set last
        self._timer_seq = 0
        self._callee_spoke = False
        self._callee_speaking = False  # server VAD: between speech started and stopped
        self._greeting_due = False  # a person answered; the greeting waits for their first words
        self._hello_heard = False  # the dialplan's AMD heard the person's greeting end
        self._caller_turns = 0
        self._barge_in = False  # a ClearPlayout for a barge-in awaits its PlayoutCleared
        self._interruption = Interruption(TurnTaking().interrupt_after_ms)
        self._echo = EchoCheck()  # the line's echo of the agent's voice is not the callee
        self._hold = Hold(HOLD_LIMIT_S * 1000)
        self._resume_phase = Phase.TALKING
        self._drain: tuple[EndedBy, str] = (EndedBy.AGENT, "")
        self._drain_response: str | None = None  # the response the drain waits for
        self._drain_awaits_ask = False  # … one our own response.create is about to create
        self._drain_playout = False  # the drain waits for the playout now
        # The mailbox message's ask, waiting for a cancelled response's `response.done`: the
        # server refuses a `response.create` while any response is still active.
        self._deferred_ask: str | None = None
        self._silenced: str | None = None  # a response we cancelled: none of its late audio
        self._server_answers = False  # the session's turn detection has create_response on
        self._held_notes: list[OwnerNote] = []  # notes waiting for a session to take them
        self._notes_seen: set[int] = set()
        self._owner_rung = False  # the owner's leg was dialled (at most once a call)
        self._brief_awaits = False  # the next response created is the brief to the owner
        # The owner answered before the callee was told they are being connected: the brief
        # is asked once that line has been said.
        self._brief_deferred = False
        self._brief_response: str | None = None  # … and this is it: its audio goes to them
        self._bridging = False  # the PBX was asked to bridge the callee with the owner
        # A cold transfer the drain ends in, instead of a hang-up: (number, reason).
        self._transfer_out: tuple[str, str] | None = None

    def handle(self, event: Input, now_ms: int) -> list[Command]:
        """What to do about `event`, which happened at monotonic `now_ms`."""
        self._now = now_ms
        match event:
            case AudioDelta(response_id=response_id, item_id=item_id, audio=audio):
                if response_id == self._silenced:
                    return []  # a response we cancelled (a barge-in, the mailbox message)
                if response_id == self._brief_response:
                    return [Play(audio, item_id, response_id, to_owner=True)]
                play = Play(audio, item_id, response_id)
                if self.phase is Phase.HOLD and response_id != self._hold.response_id:
                    return [*self._off_hold(), play]  # the model answers a person: back
                return [play]
            case AudioDone(response_id=response_id):
                return [FlushPlayout(to_owner=response_id == self._brief_response)]
            case CalleeAudio(duration_ms=duration_ms, level=level, played=played):
                self._voice.audio(duration_ms, level)
                self._echo.feed(level, played)
                # Only a voiced frame can be a bid for the turn: only then is echo a question.
                echo = level >= self._interruption.level and self._echo.is_echo()
                due = self._interruption.audio(duration_ms, level, echo=echo)
                # On hold the music, or a recording, is nobody's bid for the turn.
                quiet = self.phase is Phase.HOLD or self.phase in HANDING_OVER
                return self._barge_in_now() if due and not quiet else []
            case ResponseCreated(response_id=response_id):
                self._turns.response_created(response_id)
                if self._drain_awaits_ask:
                    self._drain_awaits_ask = False
                    self._drain_response = response_id
                if self._brief_awaits:
                    self._brief_awaits = False
                    self._brief_response = response_id
                return []
            case ResponseDone(response_id=response_id):
                return self._response_done(response_id)
            case SpeechStarted(audio_start_ms=start_ms):
                self._callee_spoke = self._callee_speaking = True
                self._voice.speech_started(start_ms, self._wall())
                self._turns.speech_started()
                # Their first words are under way: the greeting waits for them to end.
                commands = self._cancel_timer(Timer.GREETING_WAIT)
                if self.phase is Phase.HOLD:
                    self._hold.heard(now_ms)
                    self._interruption.speech_started()  # its due is ignored on hold
                elif self.phase in HANDING_OVER:
                    self._interruption.speech_started()  # nobody to interrupt: the agent waits
                elif self._interruption.speech_started():
                    commands += self._barge_in_now()
                return commands
            case PlayoutCleared(cleared=cleared):
                return self._barge_in_cleared(cleared)
            case SpeechStopped(audio_end_ms=end_ms):
                self._callee_speaking = False
                self._interruption.speech_stopped()
                self._voice.speech_stopped(end_ms, self._wall())
                if self._greeting_due:
                    return self._greet()
                if self.phase in HANDING_OVER:
                    self._turns.speech_stopped(answered=False)
                    return []
                if self.phase is Phase.HOLD:
                    if self._turns.speech_stopped(answered=False):
                        # The tools' ask is due: it is made as the check.
                        return self._realtime(CreateResponse(self._script_().hold))
                    return self._check_on_hold()
                # A turn the server leaves unanswered (a response was in progress) no longer
                # holds the tools' ask back.
                if self._turns.speech_stopped(answered=self._server_answers):
                    return self._realtime(CreateResponse())
                return []
            case AgentTranscript(transcript=text, response_id=response_id):
                if not text.strip():
                    return []
                if response_id == self._brief_response:  # said to the owner, not the callee
                    return [WriteTurn(TurnRole.HANDOVER, f"To the owner: {text.strip()}")]
                return [WriteTurn(TurnRole.AGENT, text.strip())]
            case CallerTranscript(transcript=text):
                self._voice.transcribed()
                return self._caller_words(text)
            case CallerTranscriptFailed(item_id=item_id, message=message):
                # The callee said something nobody could read: a turn of its own, not a gap.
                self._voice.transcription_failed()
                self._log.warning("callee turn not transcribed", item_id=item_id, error=message)
                return [WriteTurn(TurnRole.CALLEE, INAUDIBLE)]
            case FunctionCall():
                return self._tool_call(event)
            case ToolResult(call_id=call_id, output=output):
                return self._answer(call_id, output)
            case OwnerAnswer(call_id=call_id, answer=answer):
                said = answer if answer is not None else "(no answer)"
                reply = answer if answer is not None else "no answer"
                return [WriteTurn(TurnRole.OWNER, said), *self._answer(call_id, {"answer": reply})]
            case OwnerNote():
                return self._owner_note(event)
            case TakeOver(reason=reason):
                return self._transfer(None, reason)
            case OwnerLegUp():
                return self._owner_answered()
            case OwnerLegFailed(problem=problem):
                return self._owner_gone(f"the owner's phone could not be rung: {problem}")
            case OwnerLegEnded():
                if self._bridging:
                    return []  # the PBX took the owner's leg into the bridge
                return self._owner_gone("the owner hung up")
            case LegsBridged(problem=problem):
                return self._bridged(problem)
            case CalleeTransferred(problem=problem):
                return self._transferred(problem)
            case ToolFailed(call_id=call_id, error=error):
                name = self._tools.get(call_id, "tool")
                return self._answer(call_id, {"error": f"{name} failed: {error}"})
            case RealtimeError():
                return self._realtime_error(event)
            case TimerFired():
                return self._timer_fired(event)
            case PlayoutDrained(to_owner=True):
                return self._bridge() if self.phase is Phase.BRIEFING else []
            case PlayoutDrained():
                if self.phase is Phase.DRAINING and self._drain_playout:
                    return self._drain_done()
                return []
            case CallStarted(script=script, amd_status=amd_status):
                if self.phase is not Phase.STARTING or self._script is not None:
                    return []
                self._script = script
                self._interruption = Interruption(script.turn_taking.interrupt_after_ms)
                self._hold = Hold(script.hold_limit_s * 1000)
                self._amd_since = now_ms
                return self._amd(amd_status)
            case AmdVerdict(status=status):
                return self._amd(status) if self.phase is Phase.STARTING else []
            case Connected():
                return self._connected_now()
            case ConnectFailed(problem=problem):
                if self.phase is Phase.CONNECTING:
                    return self._fail(f"the voice could not start: {problem}")
                return self._fail(CONNECTION_LOST) if self.phase is Phase.RECONNECTING else []
            case RealtimeClosed(error=error):
                return self._realtime_closed(error)
            case HistoryLoaded(transcript=history):
                if self.phase is not Phase.RECONNECTING:
                    return []
                # The resumed session answers turns at once — unless the agent is on hold.
                self._server_answers = self._resume_phase is not Phase.HOLD
                instructions = self._script_().resumed_instructions(history)
                return [Connect(instructions, respond_to_turns=self._server_answers)]
            case Dtmf(digit=digit):
                self._log.info("callee pressed a key", digit=digit)
                return []
            case PeerError(code=code):
                self._log.warning("asterisk reported an error", code=code)
                return []
            case MalformedEvent(type=event_type, problem=problem):
                # One garbled message is no reason to drop the callee: it is left out.
                self.counts.malformed_events += 1
                self._log.warning(
                    "malformed realtime event ignored", type=event_type, problem=problem
                )
                return []
            case BridgeFailed():
                return self._fail(INTERNAL_ERROR)
            case CallEnded(reason=reason):
                return self._ended(reason)
        return []  # server events the call does not act on

    # --- starting ------------------------------------------------------------------------

    def _amd(self, status: str | None) -> list[Command]:
        if status:
            self._machine = status.upper() == "MACHINE"
            # Asterisk's AMD says HUMAN only after a short greeting followed by silence: the
            # person's "Hello?" was said, and has ended, before the bridge came on the line.
            self._hello_heard = status.upper() == "HUMAN"
        elif self._now - self._amd_since < self._timing.amd_wait_ms:
            return [self._set_timer(Timer.AMD_POLL, self._timing.amd_poll_ms)]
        self._enter(Phase.CONNECTING)
        # A machine's turns are answered by the server as they end; a person's first one by
        # our greeting.
        self._server_answers = self._machine
        return [Connect(self._script_().instructions, respond_to_turns=self._machine)]

    def _connected_now(self) -> list[Command]:
        self._connected = True
        if self.phase is Phase.CONNECTING:
            if self._machine:
                # A machine answered: its first words tell a mailbox from a phone menu (which
                # the agent navigates). No words at all: it is a mailbox.
                self._enter(Phase.SCREENING)
                return [
                    *self._deliver_held_notes(),
                    self._set_timer(Timer.MACHINE_WAIT, self._timing.machine_wait_ms),
                ]
            self._enter(Phase.TALKING)
            self._greeting_due = True
            # Notes sent while the phone rang are in the conversation before the greeting.
            notes = self._deliver_held_notes()
            if self._hello_heard:
                return [*notes, *self._greet()]  # they said "Hello?" to AMD and wait for us
            return [*notes, self._set_timer(Timer.GREETING_WAIT, self._timing.greeting_wait_ms)]
        if self.phase is Phase.RECONNECTING:
            self._turns = ToolTurns()  # the old session's responses and tool calls are gone
            self._greeting_due = False  # the resumed session opens with its own words
            resumed = self._resume_phase
            self._enter(resumed)
            # Notes delivered before the loss are in the history; those that came since now.
            commands: list[Command] = self._deliver_held_notes()
            if resumed is Phase.HOLD:
                # Nobody to apologise to: the agent goes on waiting, against the same limit.
                if Timer.HOLD_LIMIT in self._timers:
                    return commands
                left_ms = self._hold.limit_ms - self._hold.total_ms(self._now)
                return [*commands, self._set_timer(Timer.HOLD_LIMIT, max(0, left_ms))]
            if resumed is Phase.SCREENING:
                commands.append(self._set_timer(Timer.MACHINE_WAIT, self._timing.machine_wait_ms))
            return [*commands, *self._ask(self._script_().resume)]
        return []

    def _greet(self) -> list[Command]:
        """The greeting, once the callee's first words ended (or the silence lasted): from
        then on the server answers their turns itself."""
        self._greeting_due = False
        self._server_answers = True
        return [
            *self._cancel_timer(Timer.GREETING_WAIT),
            *self._ask(self._script_().greeting),
            *self._realtime(RespondToTurns()),
        ]

    # --- responses and barge-in --------------------------------------------------------------

    def _response_done(self, response_id: str) -> list[Command]:
        commands: list[Command] = []
        if self._turns.response_done(response_id):
            commands += self._realtime(CreateResponse())
        if self._deferred_ask is not None and self._turns.active_response is None:
            # The cancellation is confirmed: now the message's own response can start.
            ask, self._deferred_ask = self._deferred_ask, None
            commands += self._ask(ask)
        elif (
            self._brief_deferred and self._turns.active_response is None and not self._turns.asking
        ):
            # The callee has been told they are being connected: now the owner's brief.
            self._brief_deferred = False
            commands += self._ask_brief()
        if self.phase is Phase.HOLD and self._hold.check_owed and not commands:
            commands += self._check_on_hold()
        if self.phase is Phase.BRIEFING and response_id == self._brief_response:
            commands.append(WatchPlayout(to_owner=True))  # then the legs are bridged
        if (
            self.phase is Phase.DRAINING
            and not self._drain_playout
            and response_id == self._drain_response
        ):
            commands += [*self._cancel_timer(Timer.DRAIN_RESPONSE), *self._await_playout()]
        return commands

    def _barge_in_now(self) -> list[Command]:
        """The callee spoke long enough over the agent: stop its audio (what `ClearPlayout`
        dropped then decides whether anything was interrupted)."""
        self._barge_in = True
        return [ClearPlayout()]

    def _barge_in_cleared(self, cleared: Cleared) -> list[Command]:
        if not self._barge_in:
            return []  # a clear of another kind (a mailbox, a dropped line)
        self._barge_in = False
        active = self._turns.active_response
        if cleared.dropped_frames == 0 and active is None:
            return []  # the agent was not speaking: nothing to interrupt
        self.counts.barge_ins += 1
        commands: list[Command] = []
        if active is not None:
            # Audio it streamed before our cancel reached the server is dropped as it comes.
            self._silenced = active
            commands += self._realtime(CancelResponse())
        if cleared.item_id is not None:
            commands += self._realtime(Truncate(cleared.item_id, cleared.played_ms))
        self._log.info("barge-in", dropped_ms=cleared.dropped_ms, heard_ms=cleared.played_ms)
        return commands

    def _realtime_error(self, error: RealtimeError) -> list[Command]:
        if error.code == "response_cancel_not_active":
            return []  # server VAD already cancelled it on barge-in; our cancel was a no-op
        if error.code == "conversation_already_has_active_response":
            self._log.info("response.create refused: a response is active")
            message = self._script_().voicemail if self.result.voicemail else None
            if self.phase is Phase.DRAINING and message is not None and not self._drain_playout:
                # The server's VAD started a response as the mailbox's greeting ended, just
                # before our message's: the one we took for the message is the server's. It
                # is cancelled, and the message asked for again once that is confirmed.
                self._silenced = self._turns.active_response
                self._turns.create_refused()
                self._drain_response, self._drain_awaits_ask = None, True
                self._deferred_ask = message
                return [*self._realtime(CancelResponse()), ClearPlayout()]
            # A response started before ours could: the tools' ask is repeated after it.
            return self._realtime(CreateResponse()) if self._turns.create_refused() else []
        self._log.warning("realtime error event", code=error.code, message=error.message)
        return []

    # --- mailbox or phone menu -----------------------------------------------------------------

    def _caller_words(self, text: str) -> list[Command]:
        text = text.strip()
        if not text:
            return []
        self._caller_turns += 1
        commands: list[Command] = [WriteTurn(TurnRole.CALLEE, text)]
        if self._caller_turns != 1 or self.phase not in (Phase.SCREENING, Phase.TALKING):
            return commands
        answered = who_answered(text)
        if answered in ("menu", "screener", "hold"):
            # A phone menu (the agent presses keys), a call screener (it says who it is and
            # waits), a queue (it waits): a machine, but no mailbox.
            self._log.info("answered by a machine that is no mailbox", answerer=answered)
            self.result.not_a_mailbox = self._machine
            if self.phase is Phase.SCREENING:
                commands += self._cancel_timer(Timer.MACHINE_WAIT)
                self._enter(Phase.TALKING)
            return commands
        if answered == "mailbox" or self._machine:
            # A greeting like "please leave a message after the tone": a mailbox.
            if self._turns.active_response is not None:
                commands += self._realtime(CancelResponse())
            commands.append(ClearPlayout())
            commands += self._leave_voicemail("the callee's first words")
        return commands

    def _leave_voicemail(self, detected_by: str) -> list[Command]:
        self.result.voicemail = True
        self._greeting_due = False
        message = self._script_().voicemail
        self._log.info("voicemail", detected_by=detected_by, leaves_message=message is not None)
        commands: list[Command] = [
            *self._cancel_timer(Timer.MACHINE_WAIT),
            *self._cancel_timer(Timer.GREETING_WAIT),
            MarkOutcome(CallOutcome.VOICEMAIL),
            StopListening(),  # a mailbox needs no listening once it is recognised
        ]
        if message is None:
            return [*commands, *self._hang_up(EndedBy.VOICEMAIL, "voicemail, no message to leave")]
        if self._turns.active_response is not None:
            self._deferred_ask = message  # after the cancelled response's response.done
        else:
            commands += self._ask(message)
        # The drain waits for the response that our ask creates: the message.
        return [
            *commands,
            *self._begin_drain(EndedBy.VOICEMAIL, "voicemail message left", ask=True),
        ]

    # --- tools -------------------------------------------------------------------------------

    def _tool_call(self, call: FunctionCall) -> list[Command]:
        self._turns.function_call(call.response_id, call.call_id)
        request = read_tool_call(call)
        if isinstance(request, Refused):
            self._log.warning(
                "tool call refused",
                tool=call.name,
                error=request.error,
                arguments_chars=len(call.arguments),
            )
            return self._answer(call.call_id, {"error": request.error})
        if isinstance(request, EndCall):
            goodbye = self._turns.active_response  # the response with the goodbye, if it runs
            commands = self._answer(call.call_id, {"ok": True}, then="end")
            return [*commands, *self._begin_drain(EndedBy.AGENT, request.reason, response=goodbye)]
        if isinstance(request, WaitOnHold):
            return self._wait_on_hold(call)
        if isinstance(request, TransferToOwner):
            return self._transfer(call.call_id, request.reason)
        if isinstance(request, TransferCall):
            return self._cold_transfer(call, request)
        self._tools[call.call_id] = call.name
        return [StartTool(call.call_id, request)]

    def _answer(
        self, call_id: str, output: dict[str, Any], *, then: Then = "go_on"
    ) -> list[Command]:
        """The tool's output; once the response's last output is in, the ask to go on (one
        `response.create` per response, however many tools it called)."""
        self._tools.pop(call_id, None)
        commands = self._realtime(SendToolOutput(call_id, output))
        if self._turns.output_sent(call_id, then=then):
            commands += self._realtime(CreateResponse())
        return commands

    # --- on hold -----------------------------------------------------------------------------

    def _wait_on_hold(self, call: FunctionCall) -> list[Command]:
        """The model says the callee put it on hold: it waits, silent, until a person speaks
        (the server stops answering sounds; each is put to the model instead) or the campaign's
        limit is reached."""
        output = {"on_hold": True, "hold_limit_s": self._script_().hold_limit_s}
        if self.phase is Phase.HOLD:
            self._hold.renew(call.response_id)  # still music, or still nobody: go on waiting
            return self._answer(call.call_id, output, then="wait")
        if self.phase not in (Phase.SCREENING, Phase.TALKING):
            return self._answer(call.call_id, {"error": "the call is ending"}, then="wait")
        left_ms = self._hold.begin(self._now, call.response_id)
        self._log.info("on hold", limit_left_ms=left_ms)
        self._enter(Phase.HOLD)
        self._server_answers = False
        return [
            *self._cancel_timer(Timer.MACHINE_WAIT),
            *self._realtime(RespondToTurns(on=False)),
            self._set_timer(Timer.HOLD_LIMIT, left_ms),
            *self._answer(call.call_id, output, then="wait"),
        ]

    def _check_on_hold(self) -> list[Command]:
        """A sound on the line ended: the model judges whether a person is speaking to the
        agent (it answers them) or not (it calls `wait_on_hold` again and stays silent). One
        ask at a time: a sound that ends while a response runs is judged after it."""
        if self._turns.active_response is not None or self._turns.asking:
            self._hold.check_owed = True
            return []
        self._hold.check_owed = False
        return self._ask(self._script_().hold)

    def _off_hold(self) -> list[Command]:
        """The model answers a person: the hold is over, the server answers turns again."""
        held_ms = self._hold.end(self._now, answered=True)
        self._log.info("off hold", on_hold_ms=held_ms)
        self._enter(Phase.TALKING)
        self._server_answers = True
        return [*self._cancel_timer(Timer.HOLD_LIMIT), *self._realtime(RespondToTurns())]

    def _hold_limit_reached(self) -> list[Command]:
        """On hold as long as the campaign allows: the agent says it will call back, and the
        call ends once that has played."""
        held_ms = self._hold.end(self._now, answered=False)
        self._log.info("hold limit reached", on_hold_ms=held_ms)
        script = self._script_()
        commands: list[Command] = []
        if self._turns.active_response is not None:
            # A check still runs: it gives way to the goodbye, asked once it is cancelled.
            self._silenced = self._turns.active_response
            self._deferred_ask = script.hold_limit
            commands += [*self._realtime(CancelResponse()), ClearPlayout()]
        else:
            commands += self._ask(script.hold_limit)
        reason = f"on hold for {script.hold_limit_s} s, the campaign's limit"
        return [*commands, *self._begin_drain(EndedBy.AGENT, reason, ask=True)]

    # --- handing the call over to the owner ---------------------------------------------------

    def _transfer(self, call_id: str | None, reason: str) -> list[Command]:
        """Ring the owner to take the call over: the model's `transfer_to_owner` (it has told
        the callee it is connecting them) or *Call me in* (the agent is asked to tell them).
        The callee's turns go unanswered until the owner is on the line, or is not."""
        script = self._script_()
        number = script.owner_phone
        if not number or self._owner_rung or self.phase not in (Phase.TALKING, Phase.HOLD):
            problem = NO_OWNER_PHONE if not number else "the call cannot be handed over now"
            self._log.info("handover refused", reason=reason, problem=problem)
            return self._answer(call_id, {"error": problem}) if call_id else []
        self._log.info("handing over to the owner", reason=reason)
        commands: list[Command] = []
        if self.phase is Phase.HOLD:
            self._hold.end(self._now, answered=True)
            commands += self._cancel_timer(Timer.HOLD_LIMIT)
        self._enter(Phase.TRANSFERRING)
        self._owner_rung = True
        self._server_answers = False
        commands += [
            *self._cancel_timer(Timer.GREETING_WAIT),
            *self._realtime(RespondToTurns(on=False)),
            WriteTurn(TurnRole.HANDOVER, f"Ringing the owner to take the call over: {reason}"),
            DialOwner(number, script.owner_ring_s),
            self._set_timer(Timer.OWNER_ANSWER, script.owner_ring_s * 1000 + RING_MARGIN_MS),
        ]
        if call_id is not None:
            return [*commands, *self._answer(call_id, {"connecting": True}, then="wait")]
        return [*commands, *self._ask_when_free(script.connecting)]

    def _owner_answered(self) -> list[Command]:
        """The owner is on the line: the agent briefs them (the brief's audio goes to their
        leg only), then the legs are bridged."""
        if self.phase is not Phase.TRANSFERRING:
            return []
        self._enter(Phase.BRIEFING)
        commands = self._cancel_timer(Timer.OWNER_ANSWER)
        if not self._connected:
            return [*commands, *self._bridge()]  # no voice to brief them with: bridge at once
        if (
            self._turns.active_response is not None
            or self._turns.asking
            or self._deferred_ask is not None
        ):
            # The agent still speaks to the callee, or is about to ("connecting you", asked
            # while it spoke): that response is theirs; the brief (the owner's) follows it.
            self._brief_deferred = True
            return commands
        return [*commands, *self._ask_brief()]

    def _ask_brief(self) -> list[Command]:
        """The brief to the owner, cut short if it runs longer than a drain."""
        self._brief_awaits = True
        return [
            self._set_timer(Timer.OWNER_BRIEF, self._timing.drain_ms),
            *self._ask(self._script_().owner_brief),
        ]

    def _bridge(self) -> list[Command]:
        if self.phase is not Phase.BRIEFING or self._bridging:
            return []
        self._bridging = True
        commands = self._cancel_timer(Timer.OWNER_BRIEF)
        if self._turns.active_response is not None:  # a brief cut short by its timer
            self._silenced = self._turns.active_response
            commands += self._realtime(CancelResponse())
        return [*commands, BridgeLegs()]

    def _bridged(self, problem: str | None) -> list[Command]:
        if self.phase is not Phase.BRIEFING:
            return []
        if problem is not None:
            self._bridging = False
            return self._owner_gone(f"the call could not be bridged: {problem}")
        self._enter(Phase.HANDED_OVER)
        return self._handed_over()

    def _handed_over(self) -> list[Command]:
        """Owner and callee talk in the PBX's bridge: the agent leaves (the recording goes on
        in the PBX); the line closing under it ends the conversation."""
        self.result.handover = HANDED_OVER
        self._log.info("handed over to the owner")
        self._connected = False
        return [
            *self._cancel_timers(),
            WriteTurn(TurnRole.HANDOVER, HANDED_OVER_TURN),
            StopListening(),
            CloseRealtime(),
        ]

    def _owner_gone(self, why: str) -> list[Command]:
        """The owner does not take the call (no answer, hung up, no bridge): the agent is back
        with the callee, says so and offers a callback; the call goes on."""
        if self.phase not in (Phase.TRANSFERRING, Phase.BRIEFING):
            return []
        self._log.info("owner did not take the call", why=why)
        self.result.handover = why
        commands: list[Command] = [
            *self._cancel_timer(Timer.OWNER_ANSWER),
            *self._cancel_timer(Timer.OWNER_BRIEF),
            HangUpOwner(),
            WriteTurn(
                TurnRole.HANDOVER,
                f"The owner did not take the call ({why}); the agent offered a callback.",
            ),
        ]
        self._brief_awaits = self._brief_deferred = False
        if self._deferred_ask == self._script_().connecting:
            self._deferred_ask = None  # the owner is not coming: no "connecting you" now
        if self._brief_response is not None and self._brief_response == self._turns.active_response:
            self._silenced = self._brief_response
            commands += self._realtime(CancelResponse())
        self._enter(Phase.TALKING)
        if not self._connected:
            return [*commands, *self._fail(CONNECTION_LOST)]
        self._server_answers = True
        return [
            *commands,
            *self._realtime(RespondToTurns()),
            *self._ask_when_free(self._script_().owner_unavailable),
        ]

    # --- a cold transfer to a number the plan names --------------------------------------------

    def _cold_transfer(self, call: FunctionCall, request: TransferCall) -> list[Command]:
        """The model's `transfer_call`: only to a number the task's instructions name. Its
        "transferring you" (the response that called the tool) plays out first, then the PBX
        sends the callee on and the agent leaves."""
        allowed = self._script_().transfer_numbers
        number = transfer_number(request.number, allowed)
        if self.phase not in (Phase.TALKING, Phase.HOLD):
            problem = "the call cannot be transferred now"
        elif not allowed:
            problem = "your instructions name no number to transfer to: do not transfer"
        elif number is None:
            problem = (
                f"{request.number} is not a number your instructions name; you may only "
                f"transfer to {', '.join(allowed)}"
            )
        if number is None or self.phase not in (Phase.TALKING, Phase.HOLD):
            self._log.info("transfer refused", reason=request.reason, problem=problem)
            return self._answer(call.call_id, {"error": problem})
        self._log.info("transferring the call", reason=request.reason)
        self._transfer_out = (number, request.reason)
        self._server_answers = False
        announcement = self._turns.active_response
        return [
            *self._realtime(RespondToTurns(on=False)),
            *self._answer(call.call_id, {"transferring_to": number}, then="end"),
            *self._begin_drain(
                EndedBy.TRANSFERRED, f"transferred to {number}", response=announcement
            ),
        ]

    def _drain_done(self) -> list[Command]:
        """The last response played: hang up, or send the callee on (a cold transfer)."""
        if self._transfer_out is None:
            return self._hang_up(*self._drain)
        number, reason = self._transfer_out
        self._enter(Phase.TRANSFERRING_OUT)
        return [
            *self._cancel_timers(),
            WriteTurn(TurnRole.HANDOVER, f"Transferring the call to {number}: {reason}"),
            TransferCallee(number),
        ]

    def _transferred(self, problem: str | None) -> list[Command]:
        """The PBX sent the callee on (the agent leaves; the line closes under it), or could
        not: the agent is back with the callee, says so and carries on."""
        if self.phase is not Phase.TRANSFERRING_OUT or self._transfer_out is None:
            return []
        number, _ = self._transfer_out
        if problem is None:
            return self._left_after_transfer(number)
        self._log.info("transfer failed", problem=problem)
        self._transfer_out = None
        self._enter(Phase.TALKING)
        commands: list[Command] = [
            WriteTurn(TurnRole.HANDOVER, f"The transfer to {number} failed ({problem})."),
        ]
        if not self._connected:
            return [*commands, *self._fail(CONNECTION_LOST)]
        self._server_answers = True
        return [
            *commands,
            *self._realtime(RespondToTurns()),
            *self._ask_when_free(self._script_().transfer_failed),
        ]

    def _left_after_transfer(self, number: str) -> list[Command]:
        self.result.handover = f"{TRANSFERRED} {number}"
        self._log.info("transferred; the agent left the call")
        self._enter(Phase.HANDED_OVER)
        self._connected = False
        return [
            *self._cancel_timers(),
            WriteTurn(
                TurnRole.HANDOVER, f"The call was transferred to {number}; the agent left it."
            ),
            StopListening(),
            CloseRealtime(),
        ]

    def _ask_when_free(self, instructions: str) -> list[Command]:
        """Our own response now, or once the one in progress is done (the server refuses a
        second while one is active)."""
        if self._turns.active_response is not None or self._turns.asking:
            self._deferred_ask = instructions
            return []
        return self._ask(instructions)

    # --- the owner's notes ----------------------------------------------------------------------

    def _owner_note(self, note: OwnerNote) -> list[Command]:
        """A note from the owner: into the conversation now if a session is up (the model acts
        on it in its next response, which is not asked for: the turn-taking goes on as it
        would), held until one is; declined once the call is ending."""
        if note.note_id in self._notes_seen:
            return []
        self._notes_seen.add(note.note_id)
        if self.phase in (Phase.DRAINING, Phase.HANGING_UP, Phase.ENDED):
            return [MarkNote(note.note_id, NOTE_TOO_LATE)]
        if not self._connected or self.phase in (Phase.STARTING, Phase.CONNECTING):
            self._held_notes.append(note)
            return []
        return self._deliver(note)

    def _deliver(self, note: OwnerNote) -> list[Command]:
        self.counts.notes += 1
        self._log.info("owner's note delivered", note_id=note.note_id, chars=len(note.text))
        return [
            SendNote(f"{self._script_().note_intro}\n{note.text}"),
            WriteTurn(TurnRole.OWNER_NOTE, note.text),
            MarkNote(note.note_id, NOTE_DELIVERED),
        ]

    def _deliver_held_notes(self) -> list[Command]:
        held, self._held_notes = self._held_notes, []
        return [command for note in held for command in self._deliver(note)]

    # --- a lost connection -------------------------------------------------------------------

    def _realtime_closed(self, error: str | None) -> list[Command]:
        self._connected = False
        if error is None:
            self._log.info("realtime session closed by the server")
            return []
        if self.phase not in (Phase.SCREENING, Phase.TALKING, Phase.HOLD, Phase.DRAINING):
            return []
        self._log.warning("realtime connection lost", error=error)
        if self.phase is Phase.DRAINING:
            # The last response cannot finish now: what of it arrived plays out, then the
            # call ends as it was going to.
            if self._drain_playout:
                return []
            return [*self._cancel_timer(Timer.DRAIN_RESPONSE), *self._await_playout()]
        if self.counts.reconnects >= 1:
            return self._fail(CONNECTION_LOST)
        self.counts.reconnects += 1
        self._resume_phase = self.phase
        self._enter(Phase.RECONNECTING)
        # The turns said so far are stored and read back: the new session hears them.
        return [
            *self._cancel_timer(Timer.MACHINE_WAIT),
            *self._cancel_timer(Timer.GREETING_WAIT),
            CloseRealtime(),
            ClearPlayout(),
            LoadHistory(),
        ]

    # --- ending ------------------------------------------------------------------------------

    def _begin_drain(
        self, ended_by: EndedBy, reason: str, *, response: str | None = None, ask: bool = False
    ) -> list[Command]:
        """Let `response` (or the one our ask is about to create) finish and its audio play
        out, then hang up."""
        if self.phase not in (Phase.SCREENING, Phase.TALKING, Phase.HOLD):
            return []  # already ending: the first reason stands
        commands: list[Command] = []
        if self.phase is Phase.HOLD:  # the model gives up waiting
            self._hold.end(self._now, answered=False)
            commands += self._cancel_timer(Timer.HOLD_LIMIT)
        self._enter(Phase.DRAINING)
        self._drain = (ended_by, reason)
        self._drain_response, self._drain_awaits_ask = response, ask
        if response is None and not ask:
            return [*commands, *self._await_playout()]
        return [*commands, self._set_timer(Timer.DRAIN_RESPONSE, self._timing.drain_ms)]

    def _await_playout(self) -> list[Command]:
        self._drain_playout = True
        return [self._set_timer(Timer.DRAIN_PLAYOUT, self._timing.drain_ms), WatchPlayout()]

    def _hang_up(self, ended_by: EndedBy, reason: str) -> list[Command]:
        if self.phase in (Phase.HANGING_UP, Phase.ENDED):
            return []
        self.result.ended_by = ended_by
        self.result.reason = reason
        self._log.info("hanging up", ended_by=ended_by, reason=reason)
        commands = self._cancel_timers()
        self._enter(Phase.HANGING_UP)
        return [*commands, HangUp(ended_by, reason)]

    def _fail(self, reason: str) -> list[Command]:
        if self.phase in (Phase.HANGING_UP, Phase.ENDED):
            return []
        self.result.technical_failure = True
        return [
            MarkOutcome(CallOutcome.TECHNICAL_FAILURE, reason),
            *self._hang_up(EndedBy.FAILURE, reason),
        ]

    def _ended(self, reason: str) -> list[Command]:
        if self.phase is Phase.ENDED:
            return []
        if not self.result.ended_by:
            self.result.ended_by = EndedBy.CALLEE if reason == "hangup" else EndedBy.FAILURE
            self.result.reason = reason
        self._timers.clear()  # the driver stops its timers with the call
        handover: list[Command] = []
        if self.phase in (Phase.TRANSFERRING, Phase.BRIEFING) and not self._bridging:
            handover.append(HangUpOwner())  # the callee left before the owner took over
        elif self._bridging and self.phase is not Phase.HANDED_OVER:
            # The PBX took the callee's leg into the bridge before its answer reached us.
            handover += self._handed_over()
        elif self.phase is Phase.TRANSFERRING_OUT and self._transfer_out is not None:
            # The PBX took the callee's leg on before its answer reached us.
            handover += self._left_after_transfer(self._transfer_out[0])
        if self.result.handover == HANDED_OVER:
            self.result.ended_by = EndedBy.HANDED_OVER
            self.result.reason = "handed over to the owner"
        elif self.result.handover.startswith(TRANSFERRED):
            self.result.ended_by = EndedBy.TRANSFERRED
            self.result.reason = self.result.handover
        self.result.on_hold_ms = self._hold.total_ms(self._now)
        self._enter(Phase.ENDED)
        self._connected = False
        activity = replace(self._voice.snapshot(), on_hold_ms=self.result.on_hold_ms)
        held, self._held_notes = self._held_notes, []
        return [
            *handover,
            CloseRealtime(),
            *(MarkNote(note.note_id, NOTE_TOO_LATE) for note in held),
            FlushTurns(),
            StoreVoiceActivity(activity),
        ]

    # --- timers ------------------------------------------------------------------------------

    def _timer_fired(self, fired: TimerFired) -> list[Command]:
        if self._timers.get(fired.timer) != fired.token:
            return []  # cancelled or set again since
        del self._timers[fired.timer]
        if fired.timer is Timer.AMD_POLL:
            return [ReadAmd()] if self.phase is Phase.STARTING else []
        if fired.timer is Timer.GREETING_WAIT:
            # The callee said nothing: the agent opens the conversation.
            if self.phase is Phase.TALKING and self._greeting_due and not self._callee_speaking:
                return self._greet()
            return []
        if fired.timer is Timer.HOLD_LIMIT:
            return self._hold_limit_reached() if self.phase is Phase.HOLD else []
        if fired.timer is Timer.OWNER_ANSWER:
            ring_s = self._script_().owner_ring_s
            return self._owner_gone(f"the owner did not answer within {ring_s} s")
        if fired.timer is Timer.OWNER_BRIEF:
            return self._bridge()  # a brief that takes this long is cut short
        if fired.timer is Timer.MACHINE_WAIT:
            # A machine that says nothing for a while is a mailbox waiting for its message;
            # one that speaks is judged by its first words.
            if self.phase is Phase.SCREENING and not self._callee_spoke:
                return self._leave_voicemail("the dialplan's answering-machine detection")
            return []
        if self.phase is not Phase.DRAINING:
            return []
        if fired.timer is Timer.DRAIN_RESPONSE:
            return self._await_playout()
        return self._drain_done()  # DRAIN_PLAYOUT: what did not play in time is lost

    def _set_timer(self, timer: Timer, delay_ms: int) -> SetTimer:
        self._timer_seq += 1
        self._timers[timer] = self._timer_seq
        return SetTimer(timer, delay_ms, self._timer_seq)

    def _cancel_timer(self, timer: Timer) -> list[Command]:
        return [CancelTimer(timer)] if self._timers.pop(timer, None) is not None else []

    def _cancel_timers(self) -> list[Command]:
        return [c for timer in list(self._timers) for c in self._cancel_timer(timer)]

    # --- helpers -----------------------------------------------------------------------------

    def _ask(self, instructions: str) -> list[Command]:
        """A `response.create` of the conversation's own, with instructions for that response
        only (greeting, mailbox message, resuming after a dropped line)."""
        if not self._connected:
            return []
        self._turns.asked()
        return [CreateResponse(instructions)]

    def _realtime(self, command: RealtimeCommand) -> list[Command]:
        # Without a session there is nobody to tell: the resumed session starts afresh.
        return [command] if self._connected else []

    def _enter(self, phase: Phase) -> None:
        if phase not in TRANSITIONS[self.phase]:
            raise IllegalTransition(self.phase, phase)
        self.phase = phase

    def _script_(self) -> CallScript:
        if self._script is None:
            raise RuntimeError("the conversation has no script before CallStarted")
        return self._script

    def _wall(self) -> dt.datetime:
        return self._epoch + dt.timedelta(milliseconds=self._now)
