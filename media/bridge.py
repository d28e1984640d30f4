"""The AudioSocket ↔ OpenAI Realtime bridge: one per answered call.

Inbound: callee audio (8 kHz s16le from Asterisk) → G.711 μ-law → `input_audio_buffer.append`,
through a bounded queue drained by one sender task. Outbound: `response.output_audio.delta`
(μ-law) → s16le → the playout buffer, which the AudioSocket pacer empties one 20 ms frame at a
time. Barge-in: on `input_audio_buffer.speech_started` the queue is dropped, the response is
cancelled and the agent's item is truncated to the audio the callee actually heard.

In-call tools run in their own tasks so a question to the owner (which may take a minute) never
stops the event loop: barge-in and transcripts keep flowing while the callee holds. The model is
asked to go on once per response, after all its tools answered (`media.tool_turns`). Transcript
turns go to the process's `TranscriptWriter`, which never makes the event pump wait.

What the callee's voice did — server VAD turns, the level of their audio, transcriptions that
came or failed — is collected (`media.speech_activity`) and stored with the call when it ends,
so a call is judged by what happened on it even when no transcript arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from agents.call_agent import CALL_TOOLS, CallBrief, render_instructions, render_voicemail
from agents.call_agent.brief import render_greeting
from core.db import utcnow
from core.db.models import CallOutcome
from core.logging import get_logger
from core.settings import Settings
from media.audio import dtmf_tones, slin_to_ulaw, ulaw_to_slin
from media.call_store import CallStore
from media.playout import PlayoutBuffer
from media.realtime_client import RealtimeClient, RealtimeConfigError, RealtimeConnectionError
from media.realtime_events import (
    AgentTranscript,
    AudioDelta,
    AudioDone,
    CallerTranscript,
    CallerTranscriptFailed,
    FunctionCall,
    RealtimeError,
    ResponseCreated,
    ResponseDone,
    SpeechStarted,
    SpeechStopped,
    function_call_output,
    input_audio_append,
    item_truncate,
    response_cancel,
    response_create,
    session_update,
)
from media.session import Dtmf, EndReason, InboundAudio, PeerError, SessionControl, SessionEvent
from media.speech_activity import INAUDIBLE, CalleeVoice
from media.tool_turns import ToolTurns
from media.transcript_writer import TranscriptWriter

log = get_logger("opendeep.media.bridge")

MACHINE_WORDS = re.compile(
    r"\b(leave (me )?a message|after the (tone|beep)|voice ?mail|not available|can't come to the phone|"
    r"cannot come to the phone|mailbox)\b",
    re.I,
)
MENU_WORDS = re.compile(
    r"\b(press (\d|one|two|three|four|five|six|seven|eight|nine|zero|star|pound)|"
    r"menu|options have changed|dial the extension)\b",
    re.I,
)
LATENCY_SAMPLES = 3000  # one minute of callee frames
# Asterisk passes no frames while the far end sends no RTP (a silent IVR, a trunk with silence
# suppression). The model's VAD runs on the audio clock, so without audio a turn never ends:
# after this long without a frame, the gap is sent as silence.
INBOUND_GAP_S = 0.1
GAP_SILENCE = slin_to_ulaw(bytes(int(8000 * INBOUND_GAP_S) * 2))
TURN_FLUSH_S = 5.0
DTMF_DIGITS = re.compile(r"^(?=.*[0-9*#A-D])[0-9*#A-Dw]{1,32}$")  # w: a half-second pause


class CallActions(Protocol):
    """What the bridge asks of telephony (AMI) for its call."""

    async def hangup(self, call_uuid: str) -> None: ...

    async def send_dtmf(self, call_uuid: str, digits: str) -> None: ...


RealtimeFactory = Callable[[], RealtimeClient]


@dataclass(slots=True)
class BridgeStats:
    """Timings of one call, for the benchmarks (monotonic seconds)."""

    inbound_frames: int = 0
    inbound_dropped: int = 0
    # The most recent samples only: a long call must not grow memory without bound.
    append_latency_s: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    gap_fills: int = 0  # silences sent for stretches without callee frames
    barge_ins: int = 0
    reconnects: int = 0


@dataclass(slots=True)
class BridgeResult:
    """How the conversation ended, for the runner and the analyzer."""

    ended_by: str = ""  # "agent" (end_call), "callee" (hung up), "voicemail", "failure"
    reason: str = ""
    voicemail: bool = False
    technical_failure: bool = False


class RealtimeBridge:
    """The `SessionHandler` of one call (see `media.session`)."""

    def __init__(
        self,
        store: CallStore,
        settings: Settings,
        *,
        realtime: RealtimeFactory,
        transcripts: TranscriptWriter,
        actions: CallActions | None = None,
        feedback_timeout_s: float | None = None,
        inbound_queue_frames: int = 50,
        drain_timeout_s: float = 15.0,
        amd_wait_s: float = 1.0,
        machine_wait_s: float = 6.0,
        voice: str | None = None,
    ) -> None:
        self._store = store
        self._voice = voice
        self._settings = settings
        self._realtime_factory = realtime
        self._actions = actions
        self._feedback_timeout_s = feedback_timeout_s or settings.feedback_timeout_s
        self._drain_timeout_s = drain_timeout_s
        self._amd_wait_s = amd_wait_s
        self._machine_wait_s = machine_wait_s
        self._machine = False  # the dialplan's AMD said MACHINE: a mailbox, or a phone menu
        self._callee_spoke = False
        self._playout = PlayoutBuffer()
        self._inbound: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue(inbound_queue_frames)
        self._control: SessionControl | None = None
        self._rt: RealtimeClient | None = None
        self._brief: CallBrief | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._transcripts = transcripts  # shared by the process's bridges; not ours to close
        self._main: asyncio.Task[None] | None = None
        self._turns = ToolTurns()
        self._callee_voice = CalleeVoice()
        self._response_done = asyncio.Event()
        self._response_done.set()
        self._voicemail = False
        self._caller_turns = 0
        self._hanging_up = False
        self.finished = asyncio.Event()
        self.result = BridgeResult()
        self.stats = BridgeStats()

    # --- SessionHandler ------------------------------------------------------------------

    @property
    def playout(self) -> PlayoutBuffer:
        return self._playout

    async def on_start(self, control: SessionControl) -> None:
        self._control = control
        self._main = asyncio.create_task(self._run(), name=f"bridge-{control.call_id}")

    async def on_event(self, event: SessionEvent) -> None:
        if isinstance(event, InboundAudio):
            self.stats.inbound_frames += 1
            self._callee_voice.audio(event.pcm, event.sample_rate)
            item = (event.pcm, time.monotonic())
            if self._inbound.full():
                # Keep the newest audio: drop the oldest frame rather than block Asterisk.
                with contextlib.suppress(asyncio.QueueEmpty):
                    self._inbound.get_nowait()
                self.stats.inbound_dropped += 1
            self._inbound.put_nowait(item)
        elif isinstance(event, Dtmf):
            log.info("callee pressed a key", call_id=self._store.call_id, digit=event.digit)
        elif isinstance(event, PeerError):
            log.warning("asterisk reported an error", call_id=self._store.call_id, code=event.code)

    async def on_end(self, reason: EndReason) -> None:
        if not self.result.ended_by:
            self.result.ended_by = "callee" if reason == "hangup" else "failure"
            self.result.reason = reason
        for task in [*self._tasks, *([self._main] if self._main else [])]:
            task.cancel()
        await asyncio.gather(
            *self._tasks, *([self._main] if self._main else []), return_exceptions=True
        )
        if self._rt is not None:
            await self._rt.close()
        await self._flush_turns()
        await self._store_voice_activity()
        self.finished.set()
        log.info(
            "bridge ended",
            call_id=self._store.call_id,
            reason=reason,
            ended_by=self.result.ended_by,
        )

    # --- the conversation ----------------------------------------------------------------

    async def _run(self) -> None:
        try:
            self._brief = brief = await self._load_brief()
            if self._voice:
                await self._store.set_voice(self._voice)
            problem = await self._connect(render_instructions(brief))
            if problem is not None:
                await self._fail(f"the voice could not start: {problem}")
                return
            self._spawn(self._send_inbound(), "inbound")
            if (brief.amd_status or "").upper() == "MACHINE":
                # A machine answered: its first words tell a mailbox from a phone menu (which
                # the agent navigates). No words at all: treat it as a mailbox.
                self._machine = True
                self._spawn(self._voicemail_unless_words(), "amd-wait")
            else:
                await self._ask(render_greeting(brief))
            await self._pump()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("bridge failed", call_id=self._store.call_id)
            await self._fail("internal error in the call bridge")

    async def _load_brief(self) -> CallBrief:
        brief = await self._store.brief()
        # AMD runs before AudioSocket in the dialplan; its AMI event may land a moment after
        # the socket connects, so give the verdict a short grace period.
        deadline = time.monotonic() + self._amd_wait_s
        while brief.amd_status is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            status = await self._store.amd_status()
            if status:
                brief = dataclasses.replace(brief, amd_status=status)
        return brief

    async def _connect(self, instructions: str) -> str | None:
        """Open and configure the Realtime session; None, or why it could not be done."""
        try:
            rt = self._realtime_factory()
        except RealtimeConfigError as exc:
            log.warning("realtime not configured", call_id=self._store.call_id, error=str(exc))
            return str(exc)
        try:
            await rt.connect()
            await rt.send(
                session_update(
                    instructions=instructions,
                    voice=self._settings.realtime_voice,
                    tools=CALL_TOOLS,
                    transcription_model=self._settings.realtime_transcription_model or None,
                )
            )
        except RealtimeConnectionError as exc:
            log.warning("realtime connection failed", call_id=self._store.call_id, error=str(exc))
            await rt.close()
            return str(exc)
        self._rt = rt
        return None

    async def _pump(self) -> None:
        """Handle server events; on a lost connection try once to resume the conversation."""
        while True:
            assert self._rt is not None
            try:
                async for event in self._rt.events():
                    await self._handle(event)
                return
            except RealtimeConnectionError as exc:
                if self._hanging_up:
                    return
                log.warning("realtime connection lost", call_id=self._store.call_id, error=str(exc))
                if self.stats.reconnects >= 1 or not await self._reconnect():
                    await self._fail("the voice AI connection was lost")
                    return

    async def _reconnect(self) -> bool:
        self.stats.reconnects += 1
        await self._rt_close()
        self._playout.clear()
        assert self._brief is not None
        await self._flush_turns()  # the turns said so far, all stored, for the history
        history = await self._store.transcript_text()
        instructions = render_instructions(self._brief)
        if history:
            instructions += (
                "\n\nThe line dropped for a moment. The conversation so far was:\n" + history
            )
        if await self._connect(instructions) is not None:
            return False
        self._turns = ToolTurns()  # the old session's responses and tool calls are gone with it
        await self._ask("Apologise briefly that the line dropped and carry on where you left off.")
        return True

    async def _handle(self, event: object) -> None:
        if isinstance(event, AudioDelta):
            self._playout.push(
                ulaw_to_slin(event.audio), item_id=event.item_id, response_id=event.response_id
            )
        elif isinstance(event, AudioDone):
            self._playout.flush()
        elif isinstance(event, ResponseCreated):
            self._turns.response_created(event.response_id)
            self._response_done.clear()
        elif isinstance(event, ResponseDone):
            self._response_done.set()
            if self._turns.response_done(event.response_id):
                await self._send(response_create())
        elif isinstance(event, SpeechStarted):
            self._callee_spoke = True
            self._callee_voice.speech_started(event.audio_start_ms, utcnow())
            self._turns.speech_started()
            await self._barge_in()
        elif isinstance(event, SpeechStopped):
            self._callee_voice.speech_stopped(event.audio_end_ms, utcnow())
        elif isinstance(event, AgentTranscript):
            if event.transcript.strip():
                self._write_turn("agent", event.transcript.strip())
        elif isinstance(event, CallerTranscript):
            self._callee_voice.transcribed()
            await self._on_caller_words(event.transcript)
        elif isinstance(event, CallerTranscriptFailed):
            # The callee said something nobody could read: a turn of its own, not a gap.
            self._callee_voice.transcription_failed()
            log.warning(
                "callee turn not transcribed",
                call_id=self._store.call_id,
                item_id=event.item_id,
                error=event.message,
            )
            self._write_turn("callee", INAUDIBLE)
        elif isinstance(event, FunctionCall):
            self._turns.function_call(event.response_id, event.call_id)
            self._spawn(self._run_tool(event), f"tool-{event.name}")
        elif isinstance(event, RealtimeError):
            if event.code == "response_cancel_not_active":
                return  # server VAD already cancelled it on barge-in; our cancel was a no-op
            if event.code == "conversation_already_has_active_response":
                # A response started before ours could: the tools' ask is repeated after it.
                log.info(
                    "response.create refused: a response is active", call_id=self._store.call_id
                )
                if self._turns.create_refused():
                    await self._send(response_create())
                return
            log.warning(
                "realtime error event",
                call_id=self._store.call_id,
                code=event.code,
                message=event.message,
            )

    async def _barge_in(self) -> None:
        cleared = self._playout.clear()
        if cleared.dropped_frames == 0 and self._turns.active_response is None:
            return  # the agent was not speaking: nothing to interrupt
        self.stats.barge_ins += 1
        if self._turns.active_response is not None:
            await self._send(response_cancel())
        if cleared.item_id is not None:
            await self._send(item_truncate(cleared.item_id, cleared.played_ms))
        log.info(
            "barge-in",
            call_id=self._store.call_id,
            dropped_ms=cleared.dropped_ms,
            heard_ms=cleared.played_ms,
        )

    async def _on_caller_words(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        self._caller_turns += 1
        self._write_turn("callee", text)
        if self._caller_turns != 1 or self._voicemail:
            return
        if MENU_WORDS.search(text) and not MACHINE_WORDS.search(text):
            log.info("phone menu answered", call_id=self._store.call_id)
            return  # the agent listens and presses keys (send_dtmf)
        if MACHINE_WORDS.search(text) or self._machine:
            # A greeting like "please leave a message after the tone": a mailbox.
            if self._turns.active_response is not None:
                await self._send(response_cancel())
            self._playout.clear()
            await self._leave_voicemail("the callee's first words")

    async def _voicemail_unless_words(self) -> None:
        """A machine that says nothing for a while is a mailbox waiting for its message; one
        that speaks is judged by its first words (see `_on_caller_words`)."""
        await asyncio.sleep(self._machine_wait_s)
        if not self._callee_spoke and not self._voicemail:
            await self._leave_voicemail("the dialplan's answering-machine detection")

    async def _leave_voicemail(self, detected_by: str) -> None:
        assert self._brief is not None
        self._voicemail = True
        self.result.voicemail = True
        await self._store.mark(CallOutcome.VOICEMAIL)
        message = render_voicemail(self._brief)
        log.info(
            "voicemail",
            call_id=self._store.call_id,
            detected_by=detected_by,
            leaves_message=bool(message),
        )
        if message is None:
            await self._hang_up("voicemail", "voicemail, no message to leave")
            return
        self._response_done.clear()  # the message's response is on its way
        await self._ask(message)
        self._spawn(
            self._hang_up_after_response("voicemail", "voicemail message left"), "voicemail"
        )

    # --- tools ---------------------------------------------------------------------------

    async def _run_tool(self, call: FunctionCall) -> None:
        try:
            args = call.parsed_arguments()
        except ValueError as exc:
            # Nothing is done on a guess: the model is told what was wrong and may call again.
            log.warning(
                "tool call with malformed arguments",
                call_id=self._store.call_id,
                tool=call.name,
                error=str(exc),
                arguments_chars=len(call.arguments),
            )
            await self._answer_tool(
                call, {"error": f"{exc}. Nothing was done; call it again with valid arguments."}
            )
            return
        try:
            if call.name == "end_call":
                reason = str(args.get("reason") or "the agent ended the call")
                await self._answer_tool(call, {"ok": True}, continues=False)
                await self._hang_up_after_response("agent", reason)
                return
            output = await self._tool_output(call.name, args)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("tool failed", call_id=self._store.call_id, tool=call.name)
            output = {"error": f"{call.name} failed: {type(exc).__name__}"}
        await self._answer_tool(call, output)

    async def _answer_tool(
        self, call: FunctionCall, output: dict[str, Any], *, continues: bool = True
    ) -> None:
        """Send the tool's output; once the response's last output is in, ask the model to go
        on (one `response.create` per response, however many tools it called)."""
        await self._send(function_call_output(call.call_id, output))
        if self._turns.output_sent(call.call_id, continues=continues):
            await self._send(response_create())

    async def _tool_output(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        assert self._brief is not None
        if name == "send_dtmf":
            digits = str(args.get("digits", ""))
            if not DTMF_DIGITS.match(digits):
                return {
                    "error": f"{digits!r} is not a keypad sequence "
                    "(0-9, *, #, A-D; w pauses half a second)"
                }
            if self._actions is not None:
                await self._actions.send_dtmf(self._brief.call_uuid, digits)
            else:
                self._playout.push(
                    dtmf_tones(digits), item_id=f"dtmf-{uuid.uuid4()}", response_id="dtmf"
                )
                self._playout.flush()
            return {"pressed": digits}
        if name == "request_user_feedback":
            question = str(args.get("question", "")).strip() or "The agent needs your decision."
            feedback_id = await self._store.ask_owner(question, self._feedback_timeout_s)
            answer = await self._store.wait_answer(feedback_id, self._feedback_timeout_s)
            self._write_turn("owner", answer if answer is not None else "(no answer)")
            return {"answer": answer if answer is not None else "no answer"}
        if name == "record_fact":
            fact_name = str(args.get("name") or args.get("key") or "fact")
            await self._store.add_fact(
                fact_name, str(args.get("value", "")), str(args.get("quote", ""))
            )
            return {"recorded": fact_name}
        return {"error": f"unknown tool {name!r}"}

    # --- ending --------------------------------------------------------------------------

    async def _hang_up_after_response(self, ended_by: str, reason: str) -> None:
        """Let the current response finish and its audio play out, then hang up."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._response_done.wait(), self._drain_timeout_s)
        deadline = time.monotonic() + self._drain_timeout_s
        # The pacer drains the buffer from its own clock; polling at its frame rate is enough.
        while not self._playout.is_empty and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        await self._hang_up(ended_by, reason)

    async def _hang_up(self, ended_by: str, reason: str) -> None:
        if self._hanging_up:
            return
        self._hanging_up = True
        self.result.ended_by = ended_by
        self.result.reason = reason
        log.info("hanging up", call_id=self._store.call_id, ended_by=ended_by, reason=reason)
        if self._actions is not None and self._brief is not None:
            try:
                await self._actions.hangup(self._brief.call_uuid)
                return
            except Exception:
                log.exception(
                    "AMI hangup failed; hanging up over AudioSocket", call_id=self._store.call_id
                )
        if self._control is not None:
            self._control.hangup()

    async def _fail(self, reason: str) -> None:
        self.result.technical_failure = True
        try:
            await self._store.mark(CallOutcome.TECHNICAL_FAILURE, reason)
        except Exception:
            # The result still says so: the attempt runner writes the outcome after the call.
            log.exception(
                "could not mark the call a technical failure",
                call_id=self._store.call_id,
                reason=reason,
            )
        await self._hang_up("failure", reason)

    # --- plumbing ------------------------------------------------------------------------

    async def _ask(self, instructions: str) -> None:
        """`response.create` of the bridge's own, with instructions for that response only."""
        self._turns.asked()
        await self._send(response_create(instructions=instructions))

    async def _store_voice_activity(self) -> None:
        activity = self._callee_voice.snapshot()
        try:
            await self._store.set_voice_activity(activity.to_json())
        except Exception:
            log.exception(
                "could not store the callee's voice activity", call_id=self._store.call_id
            )
            return
        log.info(
            "callee voice activity",
            call_id=self._store.call_id,
            vad_turns=activity.vad_turns,
            voiced_ms=activity.voiced_ms,
            transcribed=activity.transcribed,
            failed_transcriptions=activity.failed_transcriptions,
        )

    def _write_turn(self, role: str, text: str) -> None:
        # Never waits; a full queue drops the turn and logs it (the writer's job).
        self._transcripts.write(self._store.user_id, self._store.call_id, role, text)

    async def _flush_turns(self) -> None:
        """Wait until this call's turns so far are stored (bounded)."""
        if not await self._transcripts.flush(self._store.call_id, TURN_FLUSH_S):
            log.warning(
                "transcript turns not stored in time",
                call_id=self._store.call_id,
                timeout_s=TURN_FLUSH_S,
            )

    async def _send_inbound(self) -> None:
        while True:
            try:
                async with asyncio.timeout(INBOUND_GAP_S):
                    pcm, received = await self._inbound.get()
                audio = slin_to_ulaw(pcm)
            except TimeoutError:
                audio, received = GAP_SILENCE, None
            if self._rt is None or self._voicemail:
                continue  # a voicemail box needs no listening once it is recognised
            try:
                await self._rt.send(input_audio_append(audio))
            except RealtimeConnectionError:
                continue  # the event pump notices the loss and reconnects
            if received is None:
                self.stats.gap_fills += 1
            else:
                self.stats.append_latency_s.append(time.monotonic() - received)

    async def _send(self, event: dict[str, Any]) -> None:
        if self._rt is None:
            return
        try:
            await self._rt.send(event)
        except RealtimeConnectionError as exc:
            log.warning(
                "realtime send failed",
                call_id=self._store.call_id,
                event_type=event.get("type"),
                error=str(exc),
            )

    async def _rt_close(self) -> None:
        rt, self._rt = self._rt, None
        if rt is not None:
            await rt.close()

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(f"{name}-{self._store.call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
