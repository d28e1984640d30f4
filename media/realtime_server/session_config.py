"""The session object of the local Realtime server: GA defaults, `session.update` merging, and
the checks the simulator makes (unknown formats, `type` other than `realtime`, voice changes
after audio was produced)."""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any, cast

from media.realtime_events import PCM_RATE, AudioFormat, JsonDict

_FORMATS: dict[str, AudioFormat] = {
    "audio/pcmu": "audio/pcmu",
    "audio/pcm": "audio/pcm",
    "audio/pcma": "audio/pcma",
}
SUPPORTED_FORMATS = ("audio/pcmu", "audio/pcm")  # A-law is valid GA but not simulated


def default_session(model: str) -> JsonDict:
    """What `session.created` carries before any update (GA shape, GA defaults)."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": f"sess_{uuid.uuid4().hex[:20]}",
        "model": model,
        "output_modalities": ["audio"],
        "instructions": "",
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": int(time.time()) + 3600,
        "include": None,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": PCM_RATE},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 500,
                    "idle_timeout_ms": None,
                    "create_response": True,
                    "interrupt_response": True,
                },
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": PCM_RATE},
                "voice": "alloy",
                "speed": 1.0,
            },
        },
    }


def merge(current: JsonDict, update: JsonDict) -> JsonDict:
    """`current` with `update` applied the GA way: only fields present change, objects merge
    recursively, `null` clears, lists replace — and an object whose `type` changes (a format,
    a turn detection) is replaced whole, so no field of the old variant lingers."""
    out = copy.deepcopy(current)
    for key, value in update.items():
        old = out.get(key)
        if (
            isinstance(value, dict)
            and isinstance(old, dict)
            and value.get("type", old.get("type")) == old.get("type")
        ):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class SessionUpdateError(ValueError):
    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def check_update(current: JsonDict, update: Any, audio_sent: bool) -> JsonDict:
    """The merged session for a `session.update` payload, or `SessionUpdateError`."""
    if not isinstance(update, dict):
        raise SessionUpdateError("Missing required parameter: 'session'.", "session")
    if update.get("type") != "realtime":
        raise SessionUpdateError(
            "Invalid value for 'session.type': this server only accepts 'realtime'.",
            "session.type",
        )
    merged = merge(current, update)
    for side in ("input", "output"):
        fmt = _get(merged, "audio", side, "format")
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind not in _FORMATS:
            raise SessionUpdateError(
                f"Invalid value: {kind!r}. Supported values are: 'audio/pcm', 'audio/pcmu', "
                "and 'audio/pcma'.",
                f"session.audio.{side}.format.type",
            )
        if kind not in SUPPORTED_FORMATS:
            raise SessionUpdateError(
                f"{kind} is valid in the GA API but the local Realtime server does not "
                "simulate it; use audio/pcmu or audio/pcm.",
                f"session.audio.{side}.format.type",
            )
        if kind == "audio/pcm" and isinstance(fmt, dict):
            fmt.setdefault("rate", PCM_RATE)
    new_voice = _get(merged, "audio", "output", "voice")
    if audio_sent and new_voice != _get(current, "audio", "output", "voice"):
        raise SessionUpdateError(
            "Cannot update a conversation's voice if assistant audio is present.",
            "session.audio.output.voice",
        )
    _check_turn_detection(_get(merged, "audio", "input", "turn_detection"))
    _check_noise_reduction(_get(merged, "audio", "input", "noise_reduction"))
    return merged


# The GA fields of each turn detection type; any other is refused, as the real server does.
_TURN_FIELDS: dict[str, frozenset[str]] = {
    "server_vad": frozenset(
        {
            "type",
            "threshold",
            "prefix_padding_ms",
            "silence_duration_ms",
            "create_response",
            "interrupt_response",
            "idle_timeout_ms",
        }
    ),
    "semantic_vad": frozenset({"type", "eagerness", "create_response", "interrupt_response"}),
}
EAGERNESS = ("low", "medium", "high", "auto")
NOISE_REDUCTION = ("near_field", "far_field")
_TD = "session.audio.input.turn_detection"


def _check_turn_detection(td: Any) -> None:
    if td is None:
        return
    kind = td.get("type") if isinstance(td, dict) else None
    if not isinstance(td, dict) or kind not in _TURN_FIELDS:
        raise SessionUpdateError(
            f"Invalid value: {kind!r}. Supported values are: 'server_vad' and 'semantic_vad'.",
            f"{_TD}.type",
        )
    unknown = sorted(set(td) - _TURN_FIELDS[kind])
    if unknown:
        raise SessionUpdateError(
            f"Unknown parameter for {kind}: {unknown[0]!r}.", f"{_TD}.{unknown[0]}"
        )
    if kind == "semantic_vad" and td.get("eagerness", "auto") not in EAGERNESS:
        raise SessionUpdateError(
            f"Invalid value: {td.get('eagerness')!r}. Supported values are: 'low', 'medium', "
            "'high', and 'auto'.",
            f"{_TD}.eagerness",
        )


def _check_noise_reduction(nr: Any) -> None:
    if nr is None:
        return
    kind = nr.get("type") if isinstance(nr, dict) else None
    if kind not in NOISE_REDUCTION:
        raise SessionUpdateError(
            f"Invalid value: {kind!r}. Supported values are: 'near_field' and 'far_field'.",
            "session.audio.input.noise_reduction.type",
        )


def _get(session: JsonDict, *path: str) -> Any:
    node: Any = session
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def input_format(session: JsonDict) -> AudioFormat:
    return _FORMATS[cast(str, _get(session, "audio", "input", "format", "type"))]


def output_format(session: JsonDict) -> AudioFormat:
    return _FORMATS[cast(str, _get(session, "audio", "output", "format", "type"))]


def turn_detection(session: JsonDict) -> JsonDict | None:
    td = _get(session, "audio", "input", "turn_detection")
    return td if isinstance(td, dict) else None


def transcription_enabled(session: JsonDict) -> bool:
    return isinstance(_get(session, "audio", "input", "transcription"), dict)


def voice(session: JsonDict) -> str:
    return str(_get(session, "audio", "output", "voice") or "alloy")
