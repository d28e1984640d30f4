"""GA server events and items of the local Realtime server, as JSON-ready dicts.

Shapes follow the openai SDK's GA types (`openai.types.realtime`): every event has `type` and a
fresh `event_id`; items have `object: "realtime.item"`; responses `object: "realtime.response"`.
"""

from __future__ import annotations

import uuid
from typing import Any

from media.realtime_events import JsonDict

ITEM = "realtime.item"


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def event(event_type: str, **fields: Any) -> JsonDict:
    return {"type": event_type, "event_id": new_id("event"), **fields}


def error(
    message: str,
    *,
    error_type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    event_id: str | None = None,
) -> JsonDict:
    """An `error` event; `event_id` inside `error` names the client event that caused it."""
    return event(
        "error",
        error={
            "type": error_type,
            "code": code,
            "message": message,
            "param": param,
            "event_id": event_id,
        },
    )


# --- items -----------------------------------------------------------------------------------


def user_audio_item(item_id: str, status: str = "completed") -> JsonDict:
    return {
        "id": item_id,
        "object": ITEM,
        "type": "message",
        "status": status,
        "role": "user",
        "content": [{"type": "input_audio", "transcript": None}],
    }


def assistant_item(item_id: str, status: str, transcript: str | None = None) -> JsonDict:
    content = [] if transcript is None else [{"type": "output_audio", "transcript": transcript}]
    return {
        "id": item_id,
        "object": ITEM,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def function_call_item(
    item_id: str, status: str, *, call_id: str, name: str, arguments: str
) -> JsonDict:
    return {
        "id": item_id,
        "object": ITEM,
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def response_object(
    response_id: str,
    status: str,
    *,
    output: list[JsonDict],
    output_format: JsonDict,
    voice: str,
    reason: str | None = None,
    audio_seconds: float = 0.0,
) -> JsonDict:
    status_details = None
    if status in ("cancelled", "incomplete", "failed"):
        status_details = {"type": status, "reason": reason, "error": None}
    # Token counts are a rough stand-in (~10 audio tokens per second, as billed for GA audio).
    audio_tokens = round(audio_seconds * 10)
    return {
        "object": "realtime.response",
        "id": response_id,
        "status": status,
        "status_details": status_details,
        "output": output,
        "conversation_id": "conv_local",
        "output_modalities": ["audio"],
        "max_output_tokens": "inf",
        "audio": {"output": {"format": output_format, "voice": voice}},
        "usage": None
        if status == "in_progress"
        else {
            "total_tokens": audio_tokens,
            "input_tokens": 0,
            "output_tokens": audio_tokens,
            "input_token_details": {"text_tokens": 0, "audio_tokens": 0, "cached_tokens": 0},
            "output_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
        },
        "metadata": None,
    }


# --- events ------------------------------------------------------------------------------------


def item_added(item: JsonDict, previous_item_id: str | None) -> JsonDict:
    return event("conversation.item.added", previous_item_id=previous_item_id, item=item)


def item_done(item: JsonDict, previous_item_id: str | None) -> JsonDict:
    return event("conversation.item.done", previous_item_id=previous_item_id, item=item)


def transcription_completed(item_id: str, transcript: str, seconds: float) -> JsonDict:
    return event(
        "conversation.item.input_audio_transcription.completed",
        item_id=item_id,
        content_index=0,
        transcript=transcript,
        usage={"type": "duration", "seconds": round(seconds, 3)},
    )


def transcription_failed(item_id: str, message: str) -> JsonDict:
    return event(
        "conversation.item.input_audio_transcription.failed",
        item_id=item_id,
        content_index=0,
        error={"type": "transcription_error", "code": None, "message": message, "param": None},
    )


def output_item(kind: str, response_id: str, output_index: int, item: JsonDict) -> JsonDict:
    """`response.output_item.added` / `.done` (kind `added` or `done`)."""
    return event(
        f"response.output_item.{kind}",
        response_id=response_id,
        output_index=output_index,
        item=item,
    )


def content_part(
    kind: str, response_id: str, item_id: str, output_index: int, transcript: str
) -> JsonDict:
    """`response.content_part.added` / `.done` of an audio part."""
    return event(
        f"response.content_part.{kind}",
        response_id=response_id,
        item_id=item_id,
        output_index=output_index,
        content_index=0,
        part={"type": "audio", "transcript": transcript},
    )


def in_item(
    event_type: str, response_id: str, item_id: str, output_index: int, **f: Any
) -> JsonDict:
    """An event about content 0 of an output item (audio/transcript deltas and dones)."""
    return event(
        event_type,
        response_id=response_id,
        item_id=item_id,
        output_index=output_index,
        content_index=0,
        **f,
    )


def function_arguments(
    kind: str,
    response_id: str,
    item_id: str,
    output_index: int,
    call_id: str,
    **f: Any,
) -> JsonDict:
    """`response.function_call_arguments.delta` (with `delta`) / `.done` (with name, arguments)."""
    return event(
        f"response.function_call_arguments.{kind}",
        response_id=response_id,
        item_id=item_id,
        output_index=output_index,
        call_id=call_id,
        **f,
    )
