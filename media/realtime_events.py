"""OpenAI Realtime (GA protocol) events without I/O: typed server events in, client events out.

`parse_server_event(dict)` turns the server events a phone call needs into small typed events
(anything else becomes `OtherEvent`); `read_server_event(raw)` does the same for a message off
the wire and reports one that is not a valid event as `MalformedEvent`; the builders return the exact JSON-ready dicts of the
client events OpenDeep sends. GA names only — `response.output_audio.delta`, not the beta
`response.audio.delta`; session settings nested under `session.audio.input/output`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

JsonDict = dict[str, Any]
AudioFormat = Literal["audio/pcmu", "audio/pcma", "audio/pcm"]
PCM_RATE: Final = 24000  # the only rate GA accepts for `audio/pcm`


class MalformedServerEvent(ValueError):
    """A server event lacks a field we rely on, or has it with the wrong type."""

    def __init__(self, event_type: str, field_name: str, why: str) -> None:
        super().__init__(f"Realtime event {event_type!r}: field {field_name!r} {why}")
        self.event_type = event_type
        self.field_name = field_name


# --- server events -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionCreated:
    session: JsonDict


@dataclass(frozen=True, slots=True)
class SessionUpdated:
    session: JsonDict


@dataclass(frozen=True, slots=True)
class ResponseCreated:
    response_id: str


@dataclass(frozen=True, slots=True)
class ResponseDone:
    """A response ended: status `completed`, `cancelled`, `failed` or `incomplete`."""

    response_id: str
    status: str
    reason: str | None = None  # e.g. `turn_detected`, `client_cancelled`, `max_output_tokens`
    error: str | None = None


@dataclass(frozen=True, slots=True)
class AudioDelta:
    """A chunk of agent audio in the session's output format (decoded from base64)."""

    response_id: str
    item_id: str
    audio: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class AudioDone:
    response_id: str
    item_id: str


@dataclass(frozen=True, slots=True)
class AgentTranscriptDelta:
    response_id: str
    item_id: str
    delta: str


@dataclass(frozen=True, slots=True)
class AgentTranscript:
    """What the agent said in one item (also sent when the response was cut short)."""

    response_id: str
    item_id: str
    transcript: str


@dataclass(frozen=True, slots=True)
class CallerTranscript:
    """The input-transcription model's text of one caller turn."""

    item_id: str
    transcript: str


@dataclass(frozen=True, slots=True)
class CallerTranscriptFailed:
    item_id: str
    message: str


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """Server VAD heard the caller start (barge-in point); `audio_start_ms` counts from the start
    of all input audio and includes the prefix padding."""

    audio_start_ms: int
    item_id: str


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    audio_end_ms: int
    item_id: str


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """The model called a tool; answer with `function_call_output` then `response_create`."""

    response_id: str
    item_id: str
    call_id: str
    name: str
    arguments: str

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a JSON object; raises `ValueError` naming the tool if they are not."""
        try:
            value = json.loads(self.arguments or "{}")
        except json.JSONDecodeError as exc:
            raise ValueError(f"tool {self.name!r} got arguments that are not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ValueError(f"tool {self.name!r} got arguments that are not a JSON object")
        return value


@dataclass(frozen=True, slots=True)
class ItemTruncated:
    item_id: str
    content_index: int
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class RealtimeError:
    """An `error` event; most are recoverable and the session stays open."""

    type: str
    message: str
    code: str | None = None
    param: str | None = None
    event_id: str | None = None  # the client event that caused it, if known


@dataclass(frozen=True, slots=True)
class OtherEvent:
    """A server event the call path does not act on."""

    type: str


@dataclass(frozen=True, slots=True)
class MalformedEvent:
    """A server message that is not a valid event: not JSON, not an object, or a handled type
    lacking a field or with a wrong-typed one. `type` is the event's type ("?" if none)."""

    type: str
    problem: str


ServerEvent = (
    SessionCreated
    | SessionUpdated
    | ResponseCreated
    | ResponseDone
    | AudioDelta
    | AudioDone
    | AgentTranscriptDelta
    | AgentTranscript
    | CallerTranscript
    | CallerTranscriptFailed
    | SpeechStarted
    | SpeechStopped
    | FunctionCall
    | ItemTruncated
    | RealtimeError
    | OtherEvent
    | MalformedEvent
)


class _Fields:
    """Typed access to one event's fields, raising `MalformedServerEvent` with the name."""

    def __init__(self, data: Mapping[str, Any], event_type: str) -> None:
        self.data = data
        self.type = event_type

    def text(self, name: str) -> str:
        value = self.data.get(name)
        if not isinstance(value, str):
            raise MalformedServerEvent(self.type, name, f"must be a string, got {value!r:.60}")
        return value

    def opt_text(self, name: str) -> str | None:
        value = self.data.get(name)
        return value if isinstance(value, str) else None

    def integer(self, name: str) -> int:
        value = self.data.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise MalformedServerEvent(self.type, name, f"must be an integer, got {value!r:.60}")
        return value

    def obj(self, name: str) -> JsonDict:
        value = self.data.get(name)
        if not isinstance(value, dict):
            raise MalformedServerEvent(self.type, name, f"must be an object, got {value!r:.60}")
        return value

    def sub(self, name: str) -> _Fields:
        return _Fields(self.obj(name), f"{self.type}.{name}")


def _audio_delta(f: _Fields) -> ServerEvent:
    try:
        audio = base64.b64decode(f.text("delta"), validate=True)
    except binascii.Error:
        raise MalformedServerEvent(f.type, "delta", "is not valid base64") from None
    return AudioDelta(f.text("response_id"), f.text("item_id"), audio)


def _response_done(f: _Fields) -> ServerEvent:
    response = f.sub("response")
    details = response.data.get("status_details")
    reason = error = None
    if isinstance(details, dict):
        reason = details.get("reason") if isinstance(details.get("reason"), str) else None
        err = details.get("error")
        if isinstance(err, dict):
            error = str(err.get("message") or err.get("code") or err)
    return ResponseDone(
        response.text("id"), response.opt_text("status") or "unknown", reason, error
    )


def _error(f: _Fields) -> ServerEvent:
    err = f.sub("error")
    return RealtimeError(
        type=err.opt_text("type") or "unknown",
        message=err.opt_text("message") or "",
        code=err.opt_text("code"),
        param=err.opt_text("param"),
        event_id=err.opt_text("event_id"),
    )


def _transcription_failed(f: _Fields) -> ServerEvent:
    err = f.data.get("error")
    message = str(err.get("message")) if isinstance(err, dict) else "transcription failed"
    return CallerTranscriptFailed(f.text("item_id"), message)


_PARSERS: Final[dict[str, Callable[[_Fields], ServerEvent]]] = {
    "session.created": lambda f: SessionCreated(f.obj("session")),
    "session.updated": lambda f: SessionUpdated(f.obj("session")),
    "response.created": lambda f: ResponseCreated(f.sub("response").text("id")),
    "response.done": _response_done,
    "response.output_audio.delta": _audio_delta,
    "response.output_audio.done": lambda f: AudioDone(f.text("response_id"), f.text("item_id")),
    "response.output_audio_transcript.delta": lambda f: AgentTranscriptDelta(
        f.text("response_id"), f.text("item_id"), f.text("delta")
    ),
    "response.output_audio_transcript.done": lambda f: AgentTranscript(
        f.text("response_id"), f.text("item_id"), f.text("transcript")
    ),
    "conversation.item.input_audio_transcription.completed": lambda f: CallerTranscript(
        f.text("item_id"), f.text("transcript")
    ),
    "conversation.item.input_audio_transcription.failed": _transcription_failed,
    "input_audio_buffer.speech_started": lambda f: SpeechStarted(
        f.integer("audio_start_ms"), f.text("item_id")
    ),
    "input_audio_buffer.speech_stopped": lambda f: SpeechStopped(
        f.integer("audio_end_ms"), f.text("item_id")
    ),
    "response.function_call_arguments.done": lambda f: FunctionCall(
        f.text("response_id"),
        f.text("item_id"),
        f.text("call_id"),
        f.text("name"),
        f.text("arguments"),
    ),
    "conversation.item.truncated": lambda f: ItemTruncated(
        f.text("item_id"), f.integer("content_index"), f.integer("audio_end_ms")
    ),
    "error": _error,
}


def parse_server_event(data: Mapping[str, Any]) -> ServerEvent:
    """The typed event for one decoded server message.

    Types the call path does not act on come back as `OtherEvent(type)`. Raises
    `MalformedServerEvent` naming the event and field when a handled event lacks a field or has
    it with the wrong type (or a non-base64 audio delta).
    """
    event_type = data.get("type")
    if not isinstance(event_type, str):
        raise MalformedServerEvent("?", "type", f"must be a string, got {event_type!r:.60}")
    parser = _PARSERS.get(event_type)
    if parser is None:
        return OtherEvent(event_type)
    return parser(_Fields(data, event_type))


def read_server_event(raw: str | bytes) -> ServerEvent:
    """The typed event of one raw server message; never raises: a message that is not a valid
    event comes back as `MalformedEvent` saying what is wrong with it."""
    try:
        data = json.loads(raw)
    except ValueError:  # also a message that is not UTF-8
        return MalformedEvent("?", "the message is not JSON")
    if not isinstance(data, dict):
        return MalformedEvent("?", "the message is not a JSON object")
    try:
        return parse_server_event(data)
    except MalformedServerEvent as exc:
        # `exc.event_type` names a nested object's path (`response.done.response`).
        event_type = data.get("type")
        return MalformedEvent(event_type if isinstance(event_type, str) else "?", str(exc))


# --- client events -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerVad:
    """`turn_detection` of type `server_vad` (GA defaults: 0.5, 300 ms, 500 ms)."""

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    create_response: bool = True
    interrupt_response: bool = True
    idle_timeout_ms: int | None = None

    def to_dict(self) -> JsonDict:
        out: JsonDict = {
            "type": "server_vad",
            "threshold": self.threshold,
            "prefix_padding_ms": self.prefix_padding_ms,
            "silence_duration_ms": self.silence_duration_ms,
            "create_response": self.create_response,
            "interrupt_response": self.interrupt_response,
        }
        if self.idle_timeout_ms is not None:
            out["idle_timeout_ms"] = self.idle_timeout_ms
        return out


@dataclass(frozen=True, slots=True)
class SemanticVad:
    """`turn_detection` of type `semantic_vad`: a model judges when the caller has finished;
    `eagerness` low waits longer, high replies sooner, auto is medium. No threshold, padding,
    silence or idle timeout: those are `server_vad` fields."""

    eagerness: Literal["low", "medium", "high", "auto"] = "auto"
    create_response: bool = True
    interrupt_response: bool = True

    def to_dict(self) -> JsonDict:
        return {
            "type": "semantic_vad",
            "eagerness": self.eagerness,
            "create_response": self.create_response,
            "interrupt_response": self.interrupt_response,
        }


TurnDetection = ServerVad | SemanticVad
NoiseReduction = Literal["near_field", "far_field"]


@dataclass(frozen=True, slots=True)
class FunctionTool:
    """A tool the model may call; `parameters` is its JSON Schema."""

    name: str
    description: str
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )

    def to_dict(self) -> JsonDict:
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": dict(self.parameters),
        }


def audio_format(fmt: AudioFormat) -> JsonDict:
    """The GA format object: `{"type": "audio/pcmu"}`, or `audio/pcm` with its 24 kHz rate."""
    return {"type": fmt, "rate": PCM_RATE} if fmt == "audio/pcm" else {"type": fmt}


def session_update(
    *,
    instructions: str,
    voice: str,
    tools: Sequence[FunctionTool] = (),
    tool_choice: str = "auto",
    audio: AudioFormat = "audio/pcmu",
    turn_detection: TurnDetection | None = ServerVad(),
    noise_reduction: NoiseReduction | None = None,
    transcription_model: str | None = "gpt-4o-mini-transcribe",
    transcription_language: str | None = None,
) -> JsonDict:
    """`session.update` for a phone call: audio in and out in one format (μ-law by default, so
    8 kHz telephone audio needs no resampling), turn detection, noise reduction, caller
    transcription, tools.

    `turn_detection=None` sends `null` (turns detection off); `noise_reduction=None` leaves it
    out (a new session has none; the SDK's types do not take `null` there);
    `transcription_model=None` sends `null` (no caller transcripts).
    """
    transcription: JsonDict | None = None
    if transcription_model is not None:
        transcription = {"model": transcription_model}
        if transcription_language:
            transcription["language"] = transcription_language
    audio_in: JsonDict = {
        "format": audio_format(audio),
        "transcription": transcription,
        "turn_detection": turn_detection.to_dict() if turn_detection else None,
    }
    if noise_reduction is not None:
        audio_in["noise_reduction"] = {"type": noise_reduction}
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "instructions": instructions,
            "output_modalities": ["audio"],
            "audio": {
                "input": audio_in,
                "output": {"format": audio_format(audio), "voice": voice},
            },
            "tools": [tool.to_dict() for tool in tools],
            "tool_choice": tool_choice,
        },
    }


def turn_detection_update(turn_detection: TurnDetection | None) -> JsonDict:
    """`session.update` of `audio.input.turn_detection` alone (the rest of the session stays
    as it is); the object is sent whole, so no field of an earlier setting lingers."""
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "audio": {
                "input": {"turn_detection": turn_detection.to_dict() if turn_detection else None}
            },
        },
    }


def input_audio_append(audio: bytes) -> JsonDict:
    """`input_audio_buffer.append` of caller audio already in the session's input format."""
    return {"type": "input_audio_buffer.append", "audio": base64.b64encode(audio).decode("ascii")}


def function_call_output(call_id: str, output: str | Mapping[str, Any]) -> JsonDict:
    """`conversation.item.create` carrying a tool's result (a mapping is sent as JSON text)."""
    text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
    return {
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": call_id, "output": text},
    }


def system_message(text: str) -> JsonDict:
    """`conversation.item.create` of a `system` message: context the model takes into its next
    response, without a response of its own (GA: role `system`, one `input_text` part)."""
    return {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "system",
            "content": [{"type": "input_text", "text": text}],
        },
    }


def response_create(*, instructions: str | None = None) -> JsonDict:
    """`response.create`; `instructions` override the session's for this response only."""
    if instructions is None:
        return {"type": "response.create"}
    return {"type": "response.create", "response": {"instructions": instructions}}


def response_cancel(response_id: str | None = None) -> JsonDict:
    """`response.cancel` of the in-progress response (or the given one)."""
    if response_id is None:
        return {"type": "response.cancel"}
    return {"type": "response.cancel", "response_id": response_id}


def item_truncate(item_id: str, audio_end_ms: int, content_index: int = 0) -> JsonDict:
    """`conversation.item.truncate`: the caller heard only `audio_end_ms` of the item's audio."""
    if audio_end_ms < 0:
        raise ValueError(f"audio_end_ms must be >= 0, got {audio_end_ms}")
    return {
        "type": "conversation.item.truncate",
        "item_id": item_id,
        "content_index": content_index,
        "audio_end_ms": audio_end_ms,
    }
