"""One client connection of the local Realtime server: the GA conversation state machine.

Client events handled: `session.update`, `input_audio_buffer.append` / `.commit` / `.clear`,
`conversation.item.create`, `conversation.item.truncate`, `response.create`, `response.cancel`.
Anything else, malformed JSON or a missing field is answered with a GA `error` event and the
session stays open, as the real server does.

Server events produced: `session.created` / `.updated`; `input_audio_buffer.speech_started` /
`.speech_stopped` / `.committed` / `.cleared`; `conversation.item.added` / `.done` /
`.truncated`; `conversation.item.input_audio_transcription.completed` / `.failed` (or none,
or only failures: `SimOptions.transcription`);
`response.created`, `response.output_item.added` / `.done`, `response.content_part.added` /
`.done`, `response.output_audio.delta` / `.done`, `response.output_audio_transcript.delta` /
`.done`, `response.function_call_arguments.delta` / `.done`, `response.done`; `error`.

Not simulated: text output modality, A-law, semantic VAD's model (it is energy VAD with a
silence set by its eagerness), noise reduction (checked, not applied), `idle_timeout_ms`, item
deletion and retrieval, out-of-band responses, WebRTC/SIP `output_audio_buffer.*`, rate
limits.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from media.audio import ulaw_to_samples
from media.realtime_events import JsonDict
from media.realtime_server import server_events as ev
from media.realtime_server import session_config as sc
from media.realtime_server.record import (
    ConnectionRecord,
    FunctionOutput,
    ItemMessage,
    Truncation,
)
from media.realtime_server.responses import Conversation, ResponseStreamer, SimOptions
from media.realtime_server.script import Script
from media.realtime_server.synth import format_rate
from media.realtime_server.vad import EnergyVad, VadConfig, VadStart, VadStop

MIN_COMMIT_MS: Final = 100  # the real server refuses to commit less
# The content part types GA accepts in a message item, by role.
MESSAGE_PARTS: Final = {
    "system": ("input_text",),
    "user": ("input_text", "input_audio", "input_image"),
    "assistant": ("output_text", "output_audio"),
}
MAX_UNCOMMITTED_MS: Final = 60_000


@dataclass(frozen=True, slots=True)
class CallerTurn:
    """One caller turn handed to a transcriber: int16 mono audio at `sample_rate`."""

    index: int
    item_id: str
    audio: npt.NDArray[np.int16]
    sample_rate: int


Transcriber = Callable[[CallerTurn], str]
ScriptSelector = Callable[[str], Script | None]
"""Chooses a connection's script from the session instructions of its first update."""


class ScriptedTranscriber:
    """Returns the script's `caller_transcripts` in order, then a placeholder naming the turn."""

    def __init__(self, transcripts: list[str]) -> None:
        self._transcripts = list(transcripts)

    def __call__(self, turn: CallerTurn) -> str:
        if turn.index < len(self._transcripts):
            return self._transcripts[turn.index]
        seconds = len(turn.audio) / turn.sample_rate
        return f"(caller turn {turn.index + 1}, {seconds:.1f} s of speech)"


class _ClientError(Exception):
    def __init__(self, message: str, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.param = param


def _message(item: JsonDict) -> ItemMessage:
    """A `message` item as GA takes it (a role, content parts of the types that role may
    send, text in the text parts); `_ClientError` naming the field otherwise."""
    role = item.get("role")
    if role not in MESSAGE_PARTS:
        raise _ClientError(
            f"Invalid value: {str(role)[:64]!r}. Supported values are: 'system', 'user', and "
            "'assistant'.",
            "invalid_value",
            "item.role",
        )
    content = item.get("content")
    if not isinstance(content, list) or not content:
        raise _ClientError(
            "Missing required parameter: 'item.content'.",
            "missing_required_parameter",
            "item.content",
        )
    texts = []
    for index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in MESSAGE_PARTS[role]:
            allowed = ", ".join(repr(t) for t in MESSAGE_PARTS[role])
            raise _ClientError(
                f"Invalid value: {str(kind)[:64]!r}. A {role} message's content may be {allowed}.",
                "invalid_value",
                f"item.content[{index}].type",
            )
        assert isinstance(part, dict)
        if kind in ("input_text", "output_text"):
            text = part.get("text")
            if not isinstance(text, str):
                raise _ClientError(
                    f"Missing required parameter: 'item.content[{index}].text'.",
                    "missing_required_parameter",
                    f"item.content[{index}].text",
                )
            texts.append(text)
    return ItemMessage(str(role), "\n".join(texts))


class SimConnection:
    def __init__(
        self,
        ws: ServerConnection,
        record: ConnectionRecord,
        script: Script,
        options: SimOptions,
        transcriber: Transcriber | None = None,
        select_script: ScriptSelector | None = None,
    ) -> None:
        self._ws = ws
        self._record = record
        self._select_script = select_script
        self._custom_transcriber = transcriber is not None
        self._transcriber = transcriber or ScriptedTranscriber(script.caller_transcripts)
        self._conv = Conversation(sc.default_session(record.model or "gpt-realtime"))
        record.session = self._conv.session
        self._options = options
        self._responses = ResponseStreamer(self._send, self._conv, script, options)
        self._caller_turns = 0
        self._input_ms = 0.0
        self._uncommitted: list[npt.NDArray[np.int16]] = []
        self._uncommitted_ms = 0.0
        self._vad: EnergyVad | None = None
        self._speech_item: str | None = None
        self._send_lock = asyncio.Lock()
        self._handlers: dict[str, Callable[[JsonDict], Awaitable[None]]] = {
            "session.update": self._on_session_update,
            "input_audio_buffer.append": self._on_append,
            "input_audio_buffer.commit": self._on_commit,
            "input_audio_buffer.clear": self._on_clear,
            "conversation.item.create": self._on_item_create,
            "conversation.item.truncate": self._on_truncate,
            "response.create": self._on_response_create,
            "response.cancel": self._on_response_cancel,
        }
        self._configure_vad()

    # --- plumbing ---------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._send(ev.event("session.created", session=self._conv.session))
            async for message in self._ws:
                await self._on_message(message)
        except ConnectionClosed:
            pass
        finally:
            await self._responses.close()
            self._record.note_closed()

    async def _send(self, event: JsonDict) -> None:
        self._record.note_sent(event)
        async with self._send_lock:
            await self._ws.send(json.dumps(event))

    async def _on_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            await self._send(
                ev.error("Binary frames are not supported; send JSON text.", code="invalid_json")
            )
            return
        try:
            event = json.loads(message)
        except json.JSONDecodeError as exc:
            await self._send(
                ev.error(f"The server could not parse the JSON event: {exc}", code="invalid_json")
            )
            return
        if not isinstance(event, dict):
            await self._send(ev.error("A client event must be a JSON object.", code="invalid_json"))
            return
        self._record.note_received(event)
        event_type = event.get("type")
        event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        handler = self._handlers.get(event_type) if isinstance(event_type, str) else None
        if handler is None:
            message_text = (
                "Missing required parameter: 'type'."
                if event_type is None
                else f"Invalid value: {str(event_type)[:64]!r}. This event type is not supported "
                "by the local Realtime server."
            )
            code = "missing_required_parameter" if event_type is None else "invalid_value"
            await self._send(ev.error(message_text, code=code, param="type", event_id=event_id))
            return
        try:
            await handler(event)
        except _ClientError as exc:
            await self._send(ev.error(str(exc), code=exc.code, param=exc.param, event_id=event_id))

    # --- session -----------------------------------------------------------------------------

    async def _on_session_update(self, event: JsonDict) -> None:
        try:
            merged = sc.check_update(
                self._conv.session, event.get("session"), self._conv.audio_sent
            )
        except sc.SessionUpdateError as exc:
            raise _ClientError(str(exc), "invalid_value", exc.param) from None
        self._conv.session = merged
        self._record.session = merged
        self._configure_vad()
        if self._select_script is not None:
            # A rehearsal serving several simulated callees picks each call's script from
            # what the client told its agent (the first update, before anything was said).
            chosen = self._select_script(str(merged.get("instructions") or ""))
            if chosen is not None and self._caller_turns == 0:
                self._responses.use_script(chosen)
                if not self._custom_transcriber:
                    self._transcriber = ScriptedTranscriber(chosen.caller_transcripts)
            self._select_script = None
        await self._send(ev.event("session.updated", session=merged))

    def _configure_vad(self) -> None:
        td = sc.turn_detection(self._conv.session)
        if td is None:
            self._vad = None
            return
        config = VadConfig.from_turn_detection(td)
        rate = format_rate(sc.input_format(self._conv.session))
        vad = self._vad
        if vad is None or vad.config != config or vad.sample_rate != rate:
            self._vad = EnergyVad(config, rate, start_ms=int(self._input_ms))

    # --- input audio -------------------------------------------------------------------------

    async def _on_append(self, event: JsonDict) -> None:
        audio = event.get("audio")
        if not isinstance(audio, str):
            raise _ClientError(
                "Missing required parameter: 'audio'.", "missing_required_parameter", "audio"
            )
        try:
            raw = base64.b64decode(audio, validate=True)
        except binascii.Error:
            raise _ClientError(
                "Invalid 'audio': not valid base64.", "invalid_value", "audio"
            ) from None
        fmt = sc.input_format(self._conv.session)
        rate = format_rate(fmt)
        if fmt == "audio/pcmu":
            samples = ulaw_to_samples(raw)
        else:
            if len(raw) % 2:
                raise _ClientError(
                    "Invalid 'audio': pcm16 needs an even byte count.", "invalid_value", "audio"
                )
            samples = np.frombuffer(raw, dtype="<i2").astype(np.int16)
        ms = len(samples) * 1000 / rate
        self._input_ms += ms
        self._record.input_audio_ms = int(self._input_ms)
        if self._uncommitted_ms < MAX_UNCOMMITTED_MS:
            self._uncommitted.append(samples)
            self._uncommitted_ms += ms
        if self._vad is None:
            return
        for vad_event in self._vad.feed(samples):
            if isinstance(vad_event, VadStart):
                await self._on_speech_started(vad_event)
            else:
                await self._on_speech_stopped(vad_event, rate)

    async def _on_speech_started(self, start: VadStart) -> None:
        item_id = ev.new_id("item")
        self._speech_item = item_id
        await self._send(
            ev.event(
                "input_audio_buffer.speech_started",
                audio_start_ms=start.audio_start_ms,
                item_id=item_id,
            )
        )
        td = sc.turn_detection(self._conv.session) or {}
        if self._responses.active_id and td.get("interrupt_response", True):
            await self._responses.cancel("turn_detected")

    async def _on_speech_stopped(self, stop: VadStop, rate: int) -> None:
        item_id = self._speech_item or ev.new_id("item")
        self._speech_item = None
        await self._send(
            ev.event(
                "input_audio_buffer.speech_stopped", audio_end_ms=stop.audio_end_ms, item_id=item_id
            )
        )
        await self._commit(item_id, stop.audio, rate)
        td = sc.turn_detection(self._conv.session) or {}
        if td.get("create_response", True) and self._responses.active_id is None:
            self._responses.start()

    async def _on_commit(self, event: JsonDict) -> None:
        if self._uncommitted_ms < MIN_COMMIT_MS:
            raise _ClientError(
                f"Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {self._uncommitted_ms:.2f}ms "
                "of audio.",
                "input_audio_buffer_commit_empty",
            )
        audio = np.concatenate(self._uncommitted)
        await self._commit(
            ev.new_id("item"), audio, format_rate(sc.input_format(self._conv.session))
        )

    async def _on_clear(self, event: JsonDict) -> None:
        self._uncommitted, self._uncommitted_ms = [], 0.0
        await self._send(ev.event("input_audio_buffer.cleared"))

    async def _commit(self, item_id: str, audio: npt.NDArray[np.int16], rate: int) -> None:
        self._uncommitted, self._uncommitted_ms = [], 0.0
        previous = self._conv.append(item_id)
        await self._send(
            ev.event("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id)
        )
        item = ev.user_audio_item(item_id)
        await self._send(ev.item_added(item, previous))
        await self._send(ev.item_done(item, previous))
        turn = CallerTurn(self._caller_turns, item_id, audio, rate)
        self._caller_turns += 1
        mode = self._options.transcription
        if not sc.transcription_enabled(self._conv.session) or mode == "withhold":
            return
        if mode == "fail":
            await self._send(ev.transcription_failed(item_id, "the transcription model failed"))
            return
        try:
            transcript = self._transcriber(turn)
        except Exception as exc:  # a pluggable transcriber failing is a transcription failure
            await self._send(ev.transcription_failed(item_id, str(exc)))
            return
        await self._send(ev.transcription_completed(item_id, transcript, len(audio) / rate))

    # --- conversation items ----------------------------------------------------------------

    async def _on_item_create(self, event: JsonDict) -> None:
        item = event.get("item")
        if not isinstance(item, dict):
            raise _ClientError(
                "Missing required parameter: 'item'.", "missing_required_parameter", "item"
            )
        kind = item.get("type")
        if kind == "function_call_output":
            call_id, output = item.get("call_id"), item.get("output")
            if not isinstance(call_id, str) or not isinstance(output, str):
                raise _ClientError(
                    "A function_call_output item needs string 'call_id' and 'output'.",
                    "missing_required_parameter",
                    "item.call_id" if not isinstance(call_id, str) else "item.output",
                )
            self._record.function_outputs.append(FunctionOutput(call_id, output))
        elif kind == "message":
            message = _message(item)
            self._record.messages.append(message)
            if message.role == "system":
                self._responses.note(message.text)
        elif kind != "function_call":
            raise _ClientError(
                f"Invalid value: {str(kind)[:64]!r}. Supported values are: 'message', "
                "'function_call', and 'function_call_output'.",
                "invalid_value",
                "item.type",
            )
        stored = {**item, "object": ev.ITEM, "status": "completed"}
        stored.setdefault("id", ev.new_id("item"))
        previous = self._conv.append(stored["id"])
        previous = event.get("previous_item_id") or previous
        await self._send(ev.item_added(stored, previous))
        await self._send(ev.item_done(stored, previous))

    async def _on_truncate(self, event: JsonDict) -> None:
        item_id = event.get("item_id")
        content_index = event.get("content_index")
        audio_end_ms = event.get("audio_end_ms")
        for name, value, kind in (
            ("item_id", item_id, str),
            ("content_index", content_index, int),
            ("audio_end_ms", audio_end_ms, int),
        ):
            if not isinstance(value, kind) or isinstance(value, bool):
                raise _ClientError(
                    f"Missing required parameter: '{name}'.", "missing_required_parameter", name
                )
        assert isinstance(item_id, str)
        assert isinstance(content_index, int)
        assert isinstance(audio_end_ms, int)
        produced = self._conv.audio_ms_by_item.get(item_id)
        if produced is None:
            raise _ClientError(
                f"Invalid 'item_id': no assistant audio item {item_id!r} in this conversation.",
                "invalid_value",
                "item_id",
            )
        if content_index != 0:
            raise _ClientError(
                "Invalid 'content_index': the item has one content part.",
                "invalid_value",
                "content_index",
            )
        if audio_end_ms < 0 or audio_end_ms > math.ceil(produced):
            raise _ClientError(
                f"Audio content of {math.ceil(produced)}ms is shorter than {audio_end_ms}ms.",
                "invalid_value",
                "audio_end_ms",
            )
        self._record.truncations.append(Truncation(item_id, content_index, audio_end_ms))
        await self._send(
            ev.event(
                "conversation.item.truncated",
                item_id=item_id,
                content_index=content_index,
                audio_end_ms=audio_end_ms,
            )
        )

    # --- responses -------------------------------------------------------------------------

    async def _on_response_create(self, event: JsonDict) -> None:
        active = self._responses.active_id
        if active is not None:
            raise _ClientError(
                f"Conversation already has an active response in progress: {active}. "
                "Wait until the response is finished before creating a new one.",
                "conversation_already_has_active_response",
            )
        response = event.get("response")
        instructions = response.get("instructions") if isinstance(response, dict) else None
        self._responses.start(instructions if isinstance(instructions, str) else None)

    async def _on_response_cancel(self, event: JsonDict) -> None:
        wanted = event.get("response_id")
        active = self._responses.active_id
        if active is None or (isinstance(wanted, str) and wanted != active):
            raise _ClientError(
                "Cancellation failed: no active response found", "response_cancel_not_active"
            )
        await self._responses.cancel("client_cancelled")
