"""Realtime GA events: typed parsing of server events, exact shapes of the client events, and
both checked against the official SDK's GA types (no beta names)."""

from __future__ import annotations

import base64
import typing
from typing import Any

import pytest
from openai.types.realtime import (
    ConversationItemCreateEventParam,
    ConversationItemTruncateEventParam,
    InputAudioBufferAppendEventParam,
    RealtimeServerEvent,
    ResponseCancelEventParam,
    ResponseCreateEventParam,
    SessionUpdateEventParam,
)
from pydantic import TypeAdapter

from media import realtime_events as rt
from media.realtime_events import (
    AgentTranscript,
    AgentTranscriptDelta,
    AudioDelta,
    AudioDone,
    CallerTranscript,
    CallerTranscriptFailed,
    FunctionCall,
    FunctionTool,
    ItemTruncated,
    MalformedServerEvent,
    OtherEvent,
    RealtimeError,
    ResponseCreated,
    ResponseDone,
    ServerVad,
    SessionCreated,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
    parse_server_event,
)


def ga_server_event_types() -> set[str]:
    union = typing.get_args(RealtimeServerEvent)[0]
    names: set[str] = set()
    for model in typing.get_args(union):
        names |= set(typing.get_args(model.model_fields["type"].annotation))
    return names


def test_every_parsed_event_name_is_a_ga_server_event() -> None:
    handled = set(rt._PARSERS)
    assert handled <= ga_server_event_types()
    assert "response.audio.delta" not in ga_server_event_types()  # the beta name is gone


AUDIO = b"\xff\x7f\x00\x01"
COMMON = {"event_id": "event_1", "response_id": "resp_1", "item_id": "item_1"}
PART = {**COMMON, "output_index": 0, "content_index": 0}

CASES: list[tuple[dict[str, Any], object]] = [
    (
        {"type": "session.created", "event_id": "e", "session": {"type": "realtime", "id": "s"}},
        SessionCreated({"type": "realtime", "id": "s"}),
    ),
    (
        {"type": "session.updated", "event_id": "e", "session": {"type": "realtime"}},
        SessionUpdated({"type": "realtime"}),
    ),
    (
        {"type": "response.created", "event_id": "e", "response": {"id": "resp_1"}},
        ResponseCreated("resp_1"),
    ),
    (
        {
            "type": "response.done",
            "event_id": "e",
            "response": {
                "id": "resp_1",
                "status": "cancelled",
                "status_details": {"type": "cancelled", "reason": "turn_detected"},
            },
        },
        ResponseDone("resp_1", "cancelled", "turn_detected"),
    ),
    (
        {
            "type": "response.done",
            "event_id": "e",
            "response": {
                "id": "resp_2",
                "status": "failed",
                "status_details": {"type": "failed", "error": {"message": "boom"}},
            },
        },
        ResponseDone("resp_2", "failed", None, "boom"),
    ),
    (
        {"type": "response.output_audio.delta", **PART, "delta": base64.b64encode(AUDIO).decode()},
        AudioDelta("resp_1", "item_1", AUDIO),
    ),
    ({"type": "response.output_audio.done", **PART}, AudioDone("resp_1", "item_1")),
    (
        {"type": "response.output_audio_transcript.delta", **PART, "delta": "Hel"},
        AgentTranscriptDelta("resp_1", "item_1", "Hel"),
    ),
    (
        {"type": "response.output_audio_transcript.done", **PART, "transcript": "Hello"},
        AgentTranscript("resp_1", "item_1", "Hello"),
    ),
    (
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "event_id": "e",
            "item_id": "item_2",
            "content_index": 0,
            "transcript": "Hi there",
            "usage": {"type": "duration", "seconds": 1.2},
        },
        CallerTranscript("item_2", "Hi there"),
    ),
    (
        {
            "type": "conversation.item.input_audio_transcription.failed",
            "event_id": "e",
            "item_id": "item_2",
            "content_index": 0,
            "error": {"message": "no speech"},
        },
        CallerTranscriptFailed("item_2", "no speech"),
    ),
    (
        {
            "type": "input_audio_buffer.speech_started",
            "event_id": "e",
            "audio_start_ms": 1200,
            "item_id": "item_3",
        },
        SpeechStarted(1200, "item_3"),
    ),
    (
        {
            "type": "input_audio_buffer.speech_stopped",
            "event_id": "e",
            "audio_end_ms": 2400,
            "item_id": "item_3",
        },
        SpeechStopped(2400, "item_3"),
    ),
    (
        {
            "type": "response.function_call_arguments.done",
            **COMMON,
            "output_index": 1,
            "call_id": "call_1",
            "name": "end_call",
            "arguments": '{"reason": "done"}',
        },
        FunctionCall("resp_1", "item_1", "call_1", "end_call", '{"reason": "done"}'),
    ),
    (
        {
            "type": "conversation.item.truncated",
            "event_id": "e",
            "item_id": "item_1",
            "content_index": 0,
            "audio_end_ms": 640,
        },
        ItemTruncated("item_1", 0, 640),
    ),
    (
        {
            "type": "error",
            "event_id": "e",
            "error": {
                "type": "invalid_request_error",
                "code": "invalid_value",
                "message": "bad",
                "param": "type",
                "event_id": "client_7",
            },
        },
        RealtimeError("invalid_request_error", "bad", "invalid_value", "type", "client_7"),
    ),
    (
        {"type": "rate_limits.updated", "event_id": "e", "rate_limits": []},
        OtherEvent("rate_limits.updated"),
    ),
]


@pytest.mark.parametrize(("data", "expected"), CASES, ids=[c[0]["type"] for c in CASES])
def test_parse_server_event(data: dict[str, Any], expected: object) -> None:
    assert parse_server_event(data) == expected


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"event_id": "e"}, "type"),
        ({"type": "input_audio_buffer.speech_started", "item_id": "i"}, "audio_start_ms"),
        (
            {"type": "input_audio_buffer.speech_started", "item_id": "i", "audio_start_ms": True},
            "audio_start_ms",
        ),
        ({"type": "response.output_audio.delta", **PART, "delta": "not base64!"}, "delta"),
        ({"type": "response.created", "response": "resp_1"}, "response"),
        (
            {
                "type": "response.function_call_arguments.done",
                **COMMON,
                "call_id": "c",
                "name": "x",
            },
            "arguments",
        ),
    ],
)
def test_malformed_events_name_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(MalformedServerEvent) as info:
        parse_server_event(data)
    assert info.value.field_name == field
    assert field in str(info.value)


def test_function_call_arguments() -> None:
    call = FunctionCall("r", "i", "c", "record_fact", '{"key": "day", "value": "Tuesday"}')
    assert call.parsed_arguments() == {"key": "day", "value": "Tuesday"}
    assert FunctionCall("r", "i", "c", "end_call", "").parsed_arguments() == {}
    with pytest.raises(ValueError, match=r"'send_dtmf'.*not JSON"):
        FunctionCall("r", "i", "c", "send_dtmf", "{digits").parsed_arguments()
    with pytest.raises(ValueError, match="not a JSON object"):
        FunctionCall("r", "i", "c", "send_dtmf", "[1]").parsed_arguments()


# --- client events: exact shapes -------------------------------------------------------------

END_CALL = FunctionTool(
    "end_call",
    "Hang up when the conversation is over.",
    {"type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"]},
)


def test_session_update_shape() -> None:
    assert rt.session_update(instructions="Book a cleaning.", voice="marin", tools=[END_CALL]) == {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "instructions": "Book a cleaning.",
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": {"type": "audio/pcmu"},
                    "transcription": {"model": "gpt-4o-mini-transcribe"},
                    "turn_detection": {
                        "type": "server_vad",
                        "threshold": 0.5,
                        "prefix_padding_ms": 300,
                        "silence_duration_ms": 500,
                        "create_response": True,
                        "interrupt_response": True,
                    },
                },
                "output": {"format": {"type": "audio/pcmu"}, "voice": "marin"},
            },
            "tools": [
                {
                    "type": "function",
                    "name": "end_call",
                    "description": "Hang up when the conversation is over.",
                    "parameters": {
                        "type": "object",
                        "properties": {"reason": {"type": "string"}},
                        "required": ["reason"],
                    },
                }
            ],
            "tool_choice": "auto",
        },
    }


def test_session_update_options() -> None:
    event = rt.session_update(
        instructions="x",
        voice="cedar",
        audio="audio/pcm",
        turn_detection=None,
        transcription_model="gpt-4o-transcribe",
        transcription_language="en",
    )
    audio = event["session"]["audio"]
    assert audio["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert audio["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert audio["input"]["turn_detection"] is None
    assert audio["input"]["transcription"] == {"model": "gpt-4o-transcribe", "language": "en"}
    assert (
        rt.session_update(instructions="x", voice="v", transcription_model=None)["session"][
            "audio"
        ]["input"]["transcription"]
        is None
    )
    vad = ServerVad(threshold=0.6, silence_duration_ms=700, idle_timeout_ms=6000).to_dict()
    assert vad["idle_timeout_ms"] == 6000
    assert vad["threshold"] == 0.6


def test_small_client_events() -> None:
    assert rt.input_audio_append(b"\xff\xfe") == {
        "type": "input_audio_buffer.append",
        "audio": "//4=",
    }
    assert rt.function_call_output("call_1", {"answer": "Tuesday"}) == {
        "type": "conversation.item.create",
        "item": {
            "type": "function_call_output",
            "call_id": "call_1",
            "output": '{"answer": "Tuesday"}',
        },
    }
    assert rt.function_call_output("call_1", "ok")["item"]["output"] == "ok"
    assert rt.response_create() == {"type": "response.create"}
    assert rt.response_create(instructions="Greet.") == {
        "type": "response.create",
        "response": {"instructions": "Greet."},
    }
    assert rt.response_cancel() == {"type": "response.cancel"}
    assert rt.response_cancel("resp_1") == {"type": "response.cancel", "response_id": "resp_1"}
    assert rt.item_truncate("item_1", 640) == {
        "type": "conversation.item.truncate",
        "item_id": "item_1",
        "content_index": 0,
        "audio_end_ms": 640,
    }
    with pytest.raises(ValueError, match="audio_end_ms"):
        rt.item_truncate("item_1", -1)


@pytest.mark.parametrize(
    ("event", "param_type"),
    [
        (
            rt.session_update(instructions="i", voice="marin", tools=[END_CALL]),
            SessionUpdateEventParam,
        ),
        (
            rt.session_update(
                instructions="i", voice="marin", audio="audio/pcm", turn_detection=None
            ),
            SessionUpdateEventParam,
        ),
        (
            rt.session_update(
                instructions="i",
                voice="marin",
                turn_detection=rt.SemanticVad(eagerness="low", interrupt_response=False),
                noise_reduction="near_field",
            ),
            SessionUpdateEventParam,
        ),
        (rt.turn_detection_update(rt.ServerVad(create_response=False)), SessionUpdateEventParam),
        (rt.input_audio_append(b"\x00" * 160), InputAudioBufferAppendEventParam),
        (rt.function_call_output("call_1", "ok"), ConversationItemCreateEventParam),
        (rt.response_create(instructions="Hi"), ResponseCreateEventParam),
        (rt.response_cancel("resp_1"), ResponseCancelEventParam),
        (rt.item_truncate("item_1", 10), ConversationItemTruncateEventParam),
    ],
)
def test_client_events_are_valid_ga_params_with_no_unknown_fields(
    event: dict[str, Any], param_type: Any
) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(param_type)
    # TypedDict validation drops unknown keys, so equality proves every key is a GA field
    assert adapter.validate_python(event) == event
