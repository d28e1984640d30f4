"""Streaming one scripted response of the local Realtime server, the way the GA API does.

Speech: `response.output_item.added` → `conversation.item.added` → `response.content_part.added`
→ `response.output_audio.delta` chunks (with `response.output_audio_transcript.delta` words
keeping pace) → `…audio.done` → `…audio_transcript.done` → `…content_part.done` →
`response.output_item.done` → `conversation.item.done`. A tool call: the item events around
`response.function_call_arguments.delta`/`.done`. The response opens with `response.created`
and ends with `response.done` (`completed`, or `cancelled` with `turn_detected` /
`client_cancelled`); audio is paced against the monotonic clock at `realtime_factor`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Final, Literal

from websockets.exceptions import ConnectionClosed

from media.realtime_events import AudioFormat, JsonDict
from media.realtime_server import server_events as ev
from media.realtime_server import session_config as sc
from media.realtime_server.script import CallTool, Say, Script, ScriptedResponse
from media.realtime_server.synth import bytes_per_ms, render_speech

_ARGUMENT_CHUNK: Final = 24  # characters per function_call_arguments.delta

Send = Callable[[JsonDict], Awaitable[None]]
TranscriptionMode = Literal["on", "withhold", "fail"]
"""How the server treats input transcription a session asked for: `on` transcribes each caller
turn; `withhold` sends no transcription event at all (as a server whose transcription model is
off or retired); `fail` answers every turn with `…input_audio_transcription.failed`."""


@dataclass(frozen=True, slots=True)
class SimOptions:
    """How the simulator streams responses."""

    chunk_ms: int = 100  # audio per `response.output_audio.delta`
    realtime_factor: float = 1.0  # 1: at real-time pace; 2: twice as fast; 0: as fast as possible
    # The model's own first-audio time: pause between `response.created` and the first output.
    response_latency_ms: int = 0
    # The network and set-up time of opening a session (TCP, TLS, the WebSocket upgrade, the
    # session's creation): the opening handshake is answered this much later.
    connect_latency_ms: int = 0
    record_limit: int = 100_000  # events kept per direction in the connection record
    transcription: TranscriptionMode = "on"


@dataclass(slots=True)
class Conversation:
    """Conversation state that input handling and responses share."""

    session: JsonDict
    last_item_id: str | None = None
    audio_ms_by_item: dict[str, float] = field(default_factory=dict)  # assistant audio produced
    audio_sent: bool = False

    def append(self, item_id: str) -> str | None:
        """Make `item_id` the newest item; returns the one before it."""
        previous, self.last_item_id = self.last_item_id, item_id
        return previous


@dataclass(slots=True)
class _Response:
    id: str
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    cancel_reason: str | None = None
    audio_seconds: float = 0.0
    task: asyncio.Task[None] | None = None


class ResponseStreamer:
    """Plays scripted responses one at a time; owns the task of the active one."""

    def __init__(
        self, send: Send, conversation: Conversation, script: Script, options: SimOptions
    ) -> None:
        self._send = send
        self._conv = conversation
        self._script = script
        self._options = options
        self._cursor = 0  # next scripted response
        self._active: _Response | None = None
        self._speech_cache: dict[tuple[str, str, Path | None], bytes] = {}
        self._notes: list[str] = []  # system messages the next response acts on

    def note(self, text: str) -> None:
        """A `system` message was added: the next response starts with the script's
        `note_reply` to it (when the script has one)."""
        if self._script.note_reply is not None:
            self._notes.append(text.strip().rsplit("\n", 1)[-1].strip())

    @property
    def active_id(self) -> str | None:
        return self._active.id if self._active else None

    def start(self, instructions: str | None = None) -> None:
        """Start the next scripted response (an empty one once the script is exhausted), or
        the script's reply to the response's own `instructions` (`Script.replies`)."""
        scripted = None
        answer = next(
            (r for key, r in self._script.replies.items() if instructions and key in instructions),
            None,
        )
        if answer is not None:
            scripted = answer
        elif self._cursor < len(self._script.responses):
            scripted = self._script.responses[self._cursor]
            self._cursor += 1
        if self._notes and self._script.note_reply is not None:
            reply = Template(self._script.note_reply)
            said = [Say(text=reply.safe_substitute(note=note)) for note in self._notes if note]
            self._notes.clear()
            if said:
                rest = list(scripted.outputs) if scripted else []
                scripted = ScriptedResponse(outputs=[*said, *rest])
        response = _Response(ev.new_id("resp"))
        self._active = response
        response.task = asyncio.create_task(self._stream(response, scripted), name=response.id)

    def use_script(self, script: Script) -> None:
        """Switch to another script before any response was played."""
        if self._cursor == 0 and self._active is None:
            self._script = script

    async def cancel(self, reason: str) -> None:
        """Stop the active response and wait until its closing events are out."""
        active = self._active
        if active is None:
            return
        if active.cancel_reason is None:
            active.cancel_reason = reason
            active.cancelled.set()
        if active.task is not None:
            await asyncio.gather(active.task, return_exceptions=True)

    async def close(self) -> None:
        """Abandon the active response (the connection is gone)."""
        active = self._active
        if active is not None and active.task is not None:
            active.task.cancel()
            await asyncio.gather(active.task, return_exceptions=True)

    def _response_object(
        self, response: _Response, status: str, output: list[JsonDict]
    ) -> JsonDict:
        session = self._conv.session
        return ev.response_object(
            response.id,
            status,
            output=output,
            output_format=dict(session["audio"]["output"]["format"]),
            voice=sc.voice(session),
            reason=response.cancel_reason,
            audio_seconds=response.audio_seconds,
        )

    async def _stream(self, response: _Response, scripted: ScriptedResponse | None) -> None:
        try:
            created = self._response_object(response, "in_progress", [])
            await self._send(ev.event("response.created", response=created))
            if self._options.response_latency_ms:
                latency = self._options.response_latency_ms / 1000
                await self._pause(response, time.monotonic() + latency)
            done: list[JsonDict] = []
            for index, output in enumerate(scripted.outputs if scripted else []):
                if response.cancelled.is_set():
                    break
                if isinstance(output, Say):
                    done.append(await self._stream_say(response, index, output))
                else:
                    done.append(await self._stream_call(response, index, output))
            status = "cancelled" if response.cancel_reason else "completed"
            self._active = None  # before response.done: the client may answer it at once
            final = self._response_object(response, status, done)
            await self._send(ev.event("response.done", response=final))
        except ConnectionClosed:
            pass
        finally:
            if self._active is response:
                self._active = None

    async def _pause(self, response: _Response, deadline: float) -> None:
        """Sleep until `deadline` unless the response is cancelled first."""
        delay = deadline - time.monotonic()
        if delay <= 0:
            await asyncio.sleep(0)  # let cancels and other clients in even when not pacing
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(response.cancelled.wait(), delay)

    def _speech(self, say: Say, fmt: AudioFormat) -> bytes:
        path = say.audio_file
        if path is not None and not path.is_absolute() and self._script.base_dir is not None:
            path = self._script.base_dir / path
        key = (say.text, fmt, path)
        if key not in self._speech_cache:
            self._speech_cache[key] = render_speech(say.text, fmt, path)
        return self._speech_cache[key]

    async def _stream_say(self, response: _Response, index: int, say: Say) -> JsonDict:
        conv = self._conv
        fmt = sc.output_format(conv.session)
        audio = self._speech(say, fmt)
        item_id = ev.new_id("item")
        previous = conv.append(item_id)
        conv.audio_ms_by_item[item_id] = 0.0
        rid = response.id
        started = ev.assistant_item(item_id, "in_progress")
        await self._send(ev.output_item("added", rid, index, started))
        await self._send(ev.item_added(started, previous))
        await self._send(ev.content_part("added", rid, item_id, index, ""))
        per_ms = bytes_per_ms(fmt)
        chunk = max(per_ms, per_ms * self._options.chunk_ms)
        chunks = max(1, math.ceil(len(audio) / chunk))
        words = say.text.split()
        said = sent = 0
        factor = self._options.realtime_factor
        start = time.monotonic()
        for i in range(chunks):
            if response.cancelled.is_set():
                break
            sent += 1
            piece = audio[i * chunk : (i + 1) * chunk]
            delta = base64.b64encode(piece).decode("ascii")
            await self._send(
                ev.in_item("response.output_audio.delta", rid, item_id, index, delta=delta)
            )
            conv.audio_sent = True
            conv.audio_ms_by_item[item_id] += len(piece) / per_ms
            response.audio_seconds += len(piece) / per_ms / 1000
            upto = math.ceil((i + 1) / chunks * len(words))  # words keep pace with the audio
            if upto > said:
                text = " ".join(words[said:upto])
                await self._send(
                    ev.in_item(
                        "response.output_audio_transcript.delta",
                        rid,
                        item_id,
                        index,
                        delta=text if said == 0 else " " + text,
                    )
                )
                said = upto
            played_s = conv.audio_ms_by_item[item_id] / 1000
            await self._pause(response, start + played_s / factor if factor > 0 else 0.0)
        cut = sent < chunks  # cancelled before all the audio went out
        transcript = " ".join(words[:said]) if cut else say.text
        await self._send(ev.in_item("response.output_audio.done", rid, item_id, index))
        await self._send(
            ev.in_item(
                "response.output_audio_transcript.done", rid, item_id, index, transcript=transcript
            )
        )
        await self._send(ev.content_part("done", rid, item_id, index, transcript))
        item = ev.assistant_item(item_id, "incomplete" if cut else "completed", transcript)
        await self._send(ev.output_item("done", rid, index, item))
        await self._send(ev.item_done(item, previous))
        return item

    async def _stream_call(self, response: _Response, index: int, call: CallTool) -> JsonDict:
        item_id, call_id = ev.new_id("item"), ev.new_id("call")
        previous = self._conv.append(item_id)
        arguments = call.arguments_text()
        rid = response.id

        def item(status: str, args: str) -> JsonDict:
            return ev.function_call_item(
                item_id, status, call_id=call_id, name=call.name, arguments=args
            )

        await self._send(ev.output_item("added", rid, index, item("in_progress", "")))
        await self._send(ev.item_added(item("in_progress", ""), previous))
        for start in range(0, len(arguments), _ARGUMENT_CHUNK):
            piece = arguments[start : start + _ARGUMENT_CHUNK]
            await self._send(
                ev.function_arguments("delta", rid, item_id, index, call_id, delta=piece)
            )
        await self._send(
            ev.function_arguments(
                "done", rid, item_id, index, call_id, name=call.name, arguments=arguments
            )
        )
        await self._send(ev.output_item("done", rid, index, item("completed", arguments)))
        await self._send(ev.item_done(item("completed", arguments), previous))
        return item("completed", arguments)
