"""The AudioSocket ↔ OpenAI Realtime bridge of one answered call: the driver of its conversation.

`media.conversation.Conversation` makes every decision of the call; the bridge only moves events
in and carries its commands out. The tasks of a call, all owned here and cancelled when it ends:

- `conversation`: takes the inputs from one bounded queue, in order, hands each to the
  conversation with the monotonic time, and carries out the commands — Realtime sends, the
  playout buffer, the database (`CallStore`), the transcript writer, the hang-up;
- `model-in`: the Realtime connection's server events into that queue;
- `callee-in`: callee audio (8 kHz s16le from Asterisk) → G.711 μ-law →
  `input_audio_buffer.append`, through a bounded queue that keeps the newest frames;
- one task per running tool (a question to the owner may take a minute: barge-in and
  transcripts keep flowing meanwhile), per running timer, and one watching the playout drain;
- when the call is handed over: one placing the owner's leg (`media.owner_leg`: it comes back
  to this node's AudioSocket server under its own UUID, and the agent's brief plays there),
  and one hanging it up if the owner does not take the call.

The owner's notes to the call come from the process's `media.owner_notes.NoteBoard` (one read
for every call), which hands each new one to the conversation.

The call's first Realtime session is the one opened while its phone rang (`media.prewarm`)
when there is one, else it is opened at answer. Agent audio goes into the playout buffer, which
the AudioSocket pacer empties one 20 ms frame at a time. Both sides of the line also go to the
call's `CallLine` (the owner listening in), which never waits. Every wait on the network or the
database is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar, assert_never

from core.db import utcnow
from core.domain import CallOutcome, FeedbackKind
from core.logging import get_logger
from core.settings import Settings
from media.audio import slin_to_ulaw, ulaw_to_slin
from media.call_script import CallBrief, CallScript, ScriptWriter
from media.call_store import CallRecord
from media.call_tools import CallActions, CallTools
from media.conversation import (
    Command,
    Conversation,
    ConversationCounts,
    ConversationResult,
    Input,
    Timer,
    Timing,
    commands,
    inputs,
)
from media.listen import CallLine
from media.owner_leg import OwnerLeg, OwnerLegs, owner_leg_uuid
from media.owner_notes import NoteSource
from media.playout import PlayoutBuffer
from media.prewarm import PrewarmSource
from media.realtime_client import RealtimeClient, RealtimeConfigError, RealtimeConnectionError
from media.realtime_events import (
    TurnDetection,
    function_call_output,
    input_audio_append,
    item_truncate,
    response_cancel,
    response_create,
    system_message,
    turn_detection_update,
)
from media.realtime_session import RealtimeFactory, open_session, session_config
from media.session import EndReason, InboundAudio, SessionControl, SessionEvent
from media.speech_activity import VoiceActivity, measure
from media.transcript_writer import TurnSink
from media.turn_settings import turn_detection

log = get_logger("opendeep.media.bridge")

T = TypeVar("T")

LATENCY_SAMPLES = 3000  # one minute of callee frames
# Asterisk passes no frames while the far end sends no RTP (a silent IVR, a trunk with silence
# suppression). The model's VAD runs on the audio clock, so without audio a turn never ends:
# after this long without a frame, the gap is sent as silence.
INBOUND_GAP_S = 0.1
GAP_SILENCE = slin_to_ulaw(bytes(int(8000 * INBOUND_GAP_S) * 2))
# Inputs waiting for the conversation: 50 callee audio measurements a second, and the server's
# events, pile up while it waits on the network (at most ~20 s, to resume a lost session).
INPUT_QUEUE = 2000
TURN_FLUSH_S = 5.0
STORE_TIMEOUT_S = 10.0  # one read or write of the call's rows
HANGUP_TIMEOUT_S = 5.0
# A Realtime session closes in a task of its own (its close handshake must not hold up the
# conversation, nor, cancelled, swallow the call's end); the call's end waits this long for it.
CLOSE_WAIT_S = 2.0
PLAYOUT_POLL_S = 0.02  # the pacer drains the buffer on its own clock: its frame rate is enough


@dataclass(frozen=True, slots=True)
class _Commands:
    """Commands the conversation gave for a callee frame handled at once, to carry out in turn."""

    commands: list[Command]


@dataclass(slots=True)
class BridgeStats:
    """Timings and counts of one call, for the benchmarks (monotonic seconds)."""

    conversation: ConversationCounts = field(default_factory=ConversationCounts)
    inbound_frames: int = 0
    inbound_dropped: int = 0
    inputs_dropped: int = 0  # measurements or keys the conversation was too far behind for
    # The most recent samples only: a long call must not grow memory without bound.
    append_latency_s: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    gap_fills: int = 0  # silences sent for stretches without callee frames
    prewarmed: bool = False  # the call's first session was opened while its phone rang

    @property
    def barge_ins(self) -> int:
        return self.conversation.barge_ins

    @property
    def reconnects(self) -> int:
        return self.conversation.reconnects


def _now_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class RealtimeBridge:
    """The `SessionHandler` of one call (see `media.session`)."""

    def __init__(
        self,
        store: CallRecord,
        settings: Settings,
        *,
        script: ScriptWriter,
        realtime: RealtimeFactory,
        transcripts: TurnSink,
        actions: CallActions | None = None,
        feedback_timeout_s: float | None = None,
        inbound_queue_frames: int = 50,
        drain_timeout_s: float = 15.0,
        amd_wait_s: float = 1.0,
        machine_wait_s: float = 6.0,
        voice: str | None = None,
        line: CallLine | None = None,
        notes: NoteSource | None = None,
        prewarmed: PrewarmSource | None = None,
        owner_legs: OwnerLegs | None = None,
    ) -> None:
        """`prewarmed`: where the call's session may wait, opened while the phone rang
        (`media.prewarm`); without one, or without a session there, the bridge connects at
        answer. `notes`: where the owner's notes to the call come from (none: no notes).
        `owner_legs`: where the owner's leg of a handover is awaited (without it, or without
        `actions`, a call cannot be handed over)."""
        self._store = store
        self._owner_legs = owner_legs
        self._owner_leg: OwnerLeg | None = None
        self._settings = settings
        self._write_script = script
        self._realtime_factory = realtime
        self._prewarmed = prewarmed
        self._transcripts = transcripts  # shared by the process's bridges; not ours to close
        self._actions = actions
        self._voice = voice
        self._log = log.bind(call_id=store.call_id)
        self._conversation = Conversation(
            wall_epoch=utcnow() - dt.timedelta(milliseconds=_now_ms()),
            timing=Timing(
                amd_wait_ms=round(amd_wait_s * 1000),
                machine_wait_ms=round(machine_wait_s * 1000),
                drain_ms=round(drain_timeout_s * 1000),
            ),
            logger=self._log,
        )
        self._inputs: asyncio.Queue[Input | _Commands] = asyncio.Queue(INPUT_QUEUE)
        # The conversation task waits for its next input (callee frames are handled at once).
        self._idle = False
        self._inbound: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue(inbound_queue_frames)
        self._playout = PlayoutBuffer()
        self._line = line
        if line is not None:
            self._playout.tap = line.outbound
        self._notes = notes
        self._unwatch_notes: Callable[[], None] | None = None
        self._tools = CallTools(
            store,
            self._playout,
            actions,
            feedback_timeout_s=feedback_timeout_s or settings.feedback_timeout_s,
        )
        self._control: SessionControl | None = None
        self._brief: CallBrief | None = None
        self._script: CallScript | None = None
        self._rt: RealtimeClient | None = None
        self._listening = True
        self._main: asyncio.Task[None] | None = None
        self._callee_in: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing: set[asyncio.Task[None]] = set()  # Realtime sessions being closed
        self._timers: dict[Timer, asyncio.Task[None]] = {}
        self.finished = asyncio.Event()
        self.stats = BridgeStats(self._conversation.counts)

    @property
    def result(self) -> ConversationResult:
        """How the conversation ended (final once `finished` is set)."""
        return self._conversation.result

    # --- SessionHandler ------------------------------------------------------------------

    @property
    def playout(self) -> PlayoutBuffer:
        return self._playout

    async def on_start(self, control: SessionControl) -> None:
        self._control = control
        self._main = asyncio.create_task(self._converse(), name=f"bridge-{control.call_id}")

    async def on_event(self, event: SessionEvent) -> None:
        if isinstance(event, InboundAudio):
            self.stats.inbound_frames += 1
            duration_ms, level = measure(event.pcm, event.sample_rate)
            if self._line is not None:
                self._line.inbound(event.pcm, event.sample_rate)
            # Every frame the line played since the previous callee frame: the echo check
            # follows the agent's voice frame by frame, however bunched the callee's arrive.
            played = self._playout.take_levels()
            self._callee_audio(inputs.CalleeAudio(duration_ms, level, played))
            if self._inbound.full():
                # Keep the newest audio: drop the oldest frame rather than block Asterisk.
                with contextlib.suppress(asyncio.QueueEmpty):
                    self._inbound.get_nowait()
                self.stats.inbound_dropped += 1
            self._inbound.put_nowait((event.pcm, time.monotonic()))
        else:
            self._offer(event)

    async def on_end(self, reason: EndReason) -> None:
        if self._unwatch_notes is not None:
            self._unwatch_notes()
        if self._line is not None:
            self._line.end()
        if self._owner_legs is not None and self._brief is not None:
            self._owner_legs.forget(owner_leg_uuid(self._brief.call_uuid))
        tasks = [*self._tasks, *([self._main] if self._main else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._timers.clear()
        if self._closing:
            await asyncio.wait(self._closing, timeout=CLOSE_WAIT_S)
        try:
            # Callee audio still queued counts in the record of their voice; nothing else
            # queued matters once the line is closed.
            while not self._inputs.empty():
                if isinstance(event := self._inputs.get_nowait(), inputs.CalleeAudio):
                    await self._feed(event)
            await self._feed(inputs.CallEnded(reason))
        except Exception:
            self._log.exception("bridge failed at the end of the call")
        finally:
            self.finished.set()
        self._log.info("bridge ended", reason=reason, ended_by=self.result.ended_by)

    # --- the conversation ----------------------------------------------------------------

    def _offer(self, event: Input | _Commands) -> None:
        """Hand in an input without waiting: the AudioSocket session must never wait for us."""
        try:
            self._inputs.put_nowait(event)
        except asyncio.QueueFull:
            self.stats.inputs_dropped += 1

    def _callee_audio(self, event: inputs.CalleeAudio) -> None:
        """A callee frame, the commonest input (50 a second), which nearly always gives no
        command: handled at once when the conversation waits for its next input — no queue and
        no task wake-up per frame. Otherwise queued behind what is pending, so the order in which
        the conversation sees its inputs never changes; commands it gives are queued to be
        carried out before any later input."""
        if not self._idle or not self._inputs.empty():
            self._offer(event)
            return
        try:
            commands = self._conversation.handle(event, _now_ms())
        except Exception:
            self._log.exception("bridge failed", input=type(event).__name__)
            self._offer(inputs.BridgeFailed())
            return
        if commands:
            self._idle = False
            self._offer(_Commands(commands))

    async def _converse(self) -> None:
        try:
            await self._feed(await self._started())
        except asyncio.CancelledError:
            raise
        except Exception:
            self._log.exception("bridge failed")
            await self._feed(inputs.BridgeFailed())
        if self._notes is not None:
            self._unwatch_notes = self._notes.watch(
                self._store.user_id, self._store.call_id, self._note_arrived
            )
        while True:
            self._idle = True
            event = await self._inputs.get()
            self._idle = False
            try:
                if isinstance(event, _Commands):
                    await self._carry_out(event.commands)
                else:
                    await self._feed(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._log.exception("bridge failed", input=type(event).__name__)
                await self._feed(inputs.BridgeFailed())

    async def _started(self) -> inputs.CallStarted:
        self._brief = brief = await self._stored(self._store.brief())
        self._script = self._write_script(brief)
        if self._voice:
            await self._stored(self._store.set_voice(self._voice))
        return inputs.CallStarted(self._script, brief.amd_status or self._heard_amd())

    async def _feed(self, event: Input) -> None:
        """Hand `event` to the conversation and carry out its commands in order; a command's
        answer (`PlayoutCleared` to `ClearPlayout`, …) is handed in before the next one."""
        await self._carry_out(self._conversation.handle(event, _now_ms()))

    async def _carry_out(self, commands: list[Command]) -> None:
        pending = deque(commands)
        while pending:
            answer = await self._execute(pending.popleft())
            if answer is not None:
                pending.extendleft(reversed(self._conversation.handle(answer, _now_ms())))

    async def _execute(self, command: Command) -> Input | None:
        match command:
            case commands.Play(
                audio=audio, item_id=item_id, response_id=response_id, to_owner=to_owner
            ):
                playout = self._playout_of(to_owner)
                if playout is not None:
                    playout.push(ulaw_to_slin(audio), item_id=item_id, response_id=response_id)
            case commands.FlushPlayout(to_owner=to_owner):
                if (playout := self._playout_of(to_owner)) is not None:
                    playout.flush()
            case commands.ClearPlayout():
                return inputs.PlayoutCleared(self._playout.clear())
            case commands.WatchPlayout(to_owner=to_owner):
                self._spawn(self._watch_playout(to_owner), "playout-drain")
            case commands.CreateResponse(instructions=instructions):
                await self._send(response_create(instructions=instructions))
            case commands.CancelResponse():
                await self._send(response_cancel())
            case commands.Truncate(item_id=item_id, audio_end_ms=audio_end_ms):
                await self._send(item_truncate(item_id, audio_end_ms))
            case commands.SendToolOutput(call_id=call_id, output=output):
                await self._send(function_call_output(call_id, output))
            case commands.SendNote(text=text):
                await self._send(system_message(text))
            case commands.MarkNote(note_id=note_id, outcome=outcome):
                await self._mark_note(note_id, outcome)
            case commands.StopListening():
                self._listening = False
            case commands.RespondToTurns(on=on):
                await self._send(turn_detection_update(self._turn_detection(respond=on)))
            case commands.Connect(instructions=instructions, respond_to_turns=respond):
                return await self._connect(instructions, respond)
            case commands.CloseRealtime():
                rt, self._rt = self._rt, None
                if rt is not None:
                    self._close_later(rt)
            case commands.StartTool(call_id=call_id, request=request):
                self._spawn(self._run_tool(call_id, request), f"tool-{type(request).__name__}")
            case commands.DialOwner(number=number, ring_s=ring_s):
                self._spawn(self._dial_owner(number, ring_s), "owner-leg")
            case commands.HangUpOwner():
                self._spawn(self._hang_up_owner(), "owner-hangup")
            case commands.BridgeLegs():
                return await self._bridge_legs()
            case commands.TransferCallee(number=number):
                return await self._transfer_callee(number)
            case commands.WriteTurn(role=role, text=text):
                # Never waits; a full queue drops the turn and logs it (the writer's job).
                self._transcripts.write(self._store.user_id, self._store.call_id, role, text)
            case commands.FlushTurns():
                await self._flush_turns()
            case commands.LoadHistory():
                await self._flush_turns()  # the turns said so far, all stored, for the history
                return inputs.HistoryLoaded(await self._stored(self._store.transcript_text()))
            case commands.ReadAmd():
                heard = self._heard_amd()
                return inputs.AmdVerdict(heard or await self._stored(self._store.amd_status()))
            case commands.MarkOutcome(outcome=outcome, reason=reason):
                await self._mark(outcome, reason)
            case commands.StoreVoiceActivity(activity=activity):
                await self._store_voice_activity(activity)
            case commands.SetTimer(timer=timer, delay_ms=delay_ms, token=token):
                self._cancel_timer(timer)
                self._timers[timer] = self._spawn(self._timer(timer, delay_ms, token), timer)
            case commands.CancelTimer(timer=timer):
                self._cancel_timer(timer)
            case commands.HangUp():
                await self._hang_up()
            case _:
                assert_never(command)
        return None

    # --- the Realtime session, both directions ---------------------------------------------

    def _turn_detection(self, *, respond: bool) -> TurnDetection:
        assert self._script is not None  # after CallStarted
        return turn_detection(self._script.turn_taking, respond=respond)

    async def _connect(
        self, instructions: str, respond: bool
    ) -> inputs.Connected | inputs.ConnectFailed:
        """Open and configure a Realtime session — or take the one opened while the phone
        rang —; start its reader (and the callee's audio)."""
        assert self._script is not None  # Connect comes after CallStarted
        rt = await self._take_prewarmed(instructions, respond)
        if rt is None:
            config = session_config(
                self._script, self._settings, instructions=instructions, respond=respond
            )
            try:
                rt = await open_session(self._realtime_factory, config)
            except RealtimeConfigError as exc:
                self._log.warning("realtime not configured", error=str(exc))
                return inputs.ConnectFailed(str(exc))
            except RealtimeConnectionError as exc:
                self._log.warning("realtime connection failed", error=str(exc))
                return inputs.ConnectFailed(str(exc))
        self._rt = rt
        self._spawn(self._read_model(rt), "model-in")
        if self._callee_in is None:
            self._callee_in = self._spawn(self._send_inbound(), "callee-in")
        return inputs.Connected()

    async def _take_prewarmed(self, instructions: str, respond: bool) -> RealtimeClient | None:
        """The call's prewarmed session, set up as the conversation asks now; None when there
        is none (only the call's first session can be: a resumed one has other instructions)."""
        source, self._prewarmed = self._prewarmed, None
        if source is None or self._brief is None:
            return None
        session = await source.take(self._brief.call_uuid)
        if session is None:
            return None
        if session.instructions != instructions:
            self._log.warning("prewarmed session has other instructions; connecting anew")
            await session.client.close()
            return None
        if session.respond_to_turns != respond:
            try:
                await session.client.send(
                    turn_detection_update(self._turn_detection(respond=respond))
                )
            except RealtimeConnectionError as exc:
                self._log.warning("prewarmed session lost; connecting anew", error=str(exc))
                await session.client.close()
                return None
        self.stats.prewarmed = True
        return session.client

    async def _read_model(self, rt: RealtimeClient) -> None:
        """Server events into the conversation's queue, then how the connection ended."""
        try:
            async for event in rt.events():
                await self._inputs.put(event)
        except RealtimeConnectionError as exc:
            closed: Input = inputs.RealtimeClosed(str(exc))
        except Exception:
            self._log.exception("bridge failed reading the realtime session")
            closed = inputs.BridgeFailed()
        else:
            closed = inputs.RealtimeClosed()
        if rt is self._rt:  # not a session the conversation closed itself
            await self._inputs.put(closed)

    async def _send(self, event: dict[str, Any]) -> None:
        if self._rt is None:
            return
        try:
            await self._rt.send(event)
        except RealtimeConnectionError as exc:
            # The reader sees the loss too, and the conversation decides what follows.
            self._log.warning("realtime send failed", event_type=event.get("type"), error=str(exc))

    async def _send_inbound(self) -> None:
        frames = max(1, self._settings.realtime_append_ms // 20)
        while True:
            pcm, received = b"", None  # received: when the batch's last frame came
            try:
                async with asyncio.timeout(INBOUND_GAP_S):
                    pcm, received = await self._inbound.get()
                    # Batches of `frames`: the batch's first frame waits for the others.
                    for _ in range(frames - 1):
                        more, received = await self._inbound.get()
                        pcm += more
            except TimeoutError:
                pass  # a gap: what came of the batch goes now, or the gap as silence
            audio = slin_to_ulaw(pcm) if pcm else GAP_SILENCE
            if not pcm:
                received = None
            if self._rt is None or not self._listening:
                continue
            try:
                await self._rt.send(input_audio_append(audio))
            except RealtimeConnectionError:
                continue  # the reader reports the loss
            if received is None:
                self.stats.gap_fills += 1
            else:
                self.stats.append_latency_s.append(time.monotonic() - received)

    # --- tools, timers, the playout ----------------------------------------------------------

    async def _run_tool(self, call_id: str, request: commands.ToolRequest) -> None:
        assert self._brief is not None  # tools come after CallStarted
        try:
            result: Input = await self._tools.run(self._brief.call_uuid, call_id, request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._log.exception("tool failed", tool=type(request).__name__)
            result = inputs.ToolFailed(call_id, type(exc).__name__)
        await self._inputs.put(result)

    async def _timer(self, timer: Timer, delay_ms: int, token: int) -> None:
        await asyncio.sleep(delay_ms / 1000)
        if self._timers.get(timer) is asyncio.current_task():
            del self._timers[timer]
        await self._inputs.put(inputs.TimerFired(timer, token))

    def _cancel_timer(self, timer: Timer) -> None:
        task = self._timers.pop(timer, None)
        if task is not None:
            task.cancel()

    def _note_arrived(self, note_id: int, text: str, kind: FeedbackKind) -> bool:
        """A new note of the owner's, or their asking to be called in (`NoteBoard`); False
        when the queue is full (it is handed over again on the board's next read)."""
        take_over = kind is FeedbackKind.TAKE_OVER
        event: Input = inputs.TakeOver(text) if take_over else inputs.OwnerNote(note_id, text)
        try:
            self._inputs.put_nowait(event)
        except asyncio.QueueFull:
            return False
        if take_over:  # the conversation answers it by ringing the owner, or says why not
            self._spawn(self._mark_note(note_id, "delivered"), "take-over-mark")
        return True

    async def _mark_note(self, note_id: int, outcome: str) -> None:
        try:
            await self._stored(self._store.mark_note(note_id, outcome))
        except Exception:
            self._log.exception("could not record the owner's note", note_id=note_id)

    async def _watch_playout(self, to_owner: bool = False) -> None:
        playout = self._playout_of(to_owner)
        while playout is not None and not playout.is_empty:  # noqa: ASYNC110
            await asyncio.sleep(PLAYOUT_POLL_S)
        await self._inputs.put(inputs.PlayoutDrained(to_owner=to_owner))

    def _playout_of(self, to_owner: bool) -> PlayoutBuffer | None:
        """The callee's playout, or the owner's leg's (None: no leg is up)."""
        if not to_owner:
            return self._playout
        return self._owner_leg.playout if self._owner_leg is not None else None

    # --- handing the call over to the owner ------------------------------------------------

    async def _dial_owner(self, number: str, ring_s: int) -> None:
        """Await the owner's leg on this node's AudioSocket server, then have telephony ring
        it; a leg that cannot be placed is reported to the conversation."""
        assert self._brief is not None  # a handover comes after CallStarted
        if self._actions is None or self._owner_legs is None:
            await self._inputs.put(inputs.OwnerLegFailed("this node does not place calls"))
            return
        call_uuid = self._brief.call_uuid
        leg_uuid = owner_leg_uuid(call_uuid)
        self._owner_leg = OwnerLeg(self._offer)
        self._owner_legs.expect(leg_uuid, self._owner_leg)
        try:
            async with asyncio.timeout(HANGUP_TIMEOUT_S):
                await self._actions.call_owner(
                    call_uuid,
                    leg_uuid,
                    number,
                    ring_timeout_s=ring_s,
                    audiosocket=self._settings.audiosocket_address,
                )
        except Exception as exc:
            self._log.warning("the owner's leg could not be placed", error=repr(exc))
            self._owner_legs.forget(leg_uuid)
            await self._inputs.put(inputs.OwnerLegFailed(str(exc) or type(exc).__name__))

    async def _hang_up_owner(self) -> None:
        if self._actions is None or self._owner_legs is None or self._brief is None:
            return
        leg_uuid = owner_leg_uuid(self._brief.call_uuid)
        self._owner_legs.forget(leg_uuid)
        try:
            async with asyncio.timeout(HANGUP_TIMEOUT_S):
                await self._actions.hangup_owner(self._brief.call_uuid, leg_uuid)
        except Exception:
            self._log.exception("the owner's leg could not be hung up")

    async def _bridge_legs(self) -> inputs.LegsBridged:
        """Have the PBX bridge the callee with the owner. The callee's AudioSocket closes as it
        does: the line's end may cancel this wait, and then says the same."""
        if self._actions is None or self._brief is None:
            return inputs.LegsBridged("this node does not place calls")
        call_uuid = self._brief.call_uuid
        try:
            async with asyncio.timeout(HANGUP_TIMEOUT_S):
                await self._actions.bridge_owner(call_uuid, owner_leg_uuid(call_uuid))
        except Exception as exc:
            self._log.warning("the legs could not be bridged", error=repr(exc))
            return inputs.LegsBridged(str(exc) or type(exc).__name__)
        return inputs.LegsBridged()

    async def _transfer_callee(self, number: str) -> inputs.CalleeTransferred:
        """Have the PBX send the callee on to `number` (a cold transfer). The callee's
        AudioSocket closes as it does: the line's end may cancel this wait, and then says the
        same."""
        if self._actions is None or self._brief is None:
            return inputs.CalleeTransferred("this node does not place calls")
        try:
            async with asyncio.timeout(HANGUP_TIMEOUT_S):
                dialled = await self._actions.transfer_call(self._brief.call_uuid, number)
        except Exception as exc:
            self._log.warning("the call could not be transferred", error=repr(exc))
            return inputs.CalleeTransferred(str(exc) or type(exc).__name__)
        self._log.info("call transferred", redirected=dialled != number)
        return inputs.CalleeTransferred()

    # --- the line and the database -----------------------------------------------------------

    def _heard_amd(self) -> str | None:
        """The AMD verdict telephony heard over AMI: the dialplan announces it just before it
        connects the AudioSocket, so it is usually known here while the database write of it
        is still on its way (which would cost the greeting a poll)."""
        if self._actions is None or self._brief is None:
            return None
        return self._actions.amd_status(self._brief.call_uuid)

    async def _hang_up(self) -> None:
        if self._actions is not None and self._brief is not None:
            try:
                async with asyncio.timeout(HANGUP_TIMEOUT_S):
                    await self._actions.hangup(self._brief.call_uuid)
                return
            except Exception:
                self._log.exception("AMI hangup failed; hanging up over AudioSocket")
        if self._control is not None:
            self._control.hangup()

    async def _mark(self, outcome: CallOutcome, reason: str | None) -> None:
        try:
            await self._stored(self._store.mark(outcome, reason))
        except Exception:
            # The result still says so: the attempt runner writes the outcome after the call.
            self._log.exception(
                "could not mark the call a technical failure"
                if outcome is CallOutcome.TECHNICAL_FAILURE
                else "could not mark the call's outcome",
                outcome=outcome.value,
                reason=reason,
            )

    async def _store_voice_activity(self, activity: VoiceActivity) -> None:
        try:
            await self._stored(self._store.set_voice_activity(activity.record()))
        except Exception:
            self._log.exception("could not store the callee's voice activity")
            return
        self._log.info(
            "callee voice activity",
            vad_turns=activity.vad_turns,
            voiced_ms=activity.voiced_ms,
            transcribed=activity.transcribed,
            failed_transcriptions=activity.failed_transcriptions,
        )

    async def _flush_turns(self) -> None:
        """Wait until this call's turns so far are stored (bounded)."""
        if not await self._transcripts.flush(self._store.call_id, TURN_FLUSH_S):
            self._log.warning("transcript turns not stored in time", timeout_s=TURN_FLUSH_S)

    async def _stored(self, work: Awaitable[T]) -> T:
        async with asyncio.timeout(STORE_TIMEOUT_S):
            return await work

    def _close_later(self, rt: RealtimeClient) -> None:
        """Close a Realtime session without waiting: a close handshake, cancelled with the
        call's end, was seen to swallow the cancellation and hold the end for 10 s."""
        task = asyncio.create_task(rt.close(), name=f"realtime-close-{self._store.call_id}")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=f"{name}-{self._store.call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
