"""`session.update` merging of the local Realtime server."""

from __future__ import annotations

from typing import Any

import pytest

from media.realtime_server.session_config import (
    SessionUpdateError,
    check_update,
    default_session,
    input_format,
    merge,
    output_format,
    transcription_enabled,
    turn_detection,
)


@pytest.mark.parametrize(
    ("current", "update", "expected"),
    [
        ({"a": 1, "b": 2}, {"a": 3}, {"a": 3, "b": 2}),
        ({"a": {"x": 1, "y": 2}}, {"a": {"y": 3}}, {"a": {"x": 1, "y": 3}}),
        ({"a": {"x": 1}}, {"a": None}, {"a": None}),
        ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),
        (
            {"f": {"type": "audio/pcm", "rate": 24000}},
            {"f": {"type": "audio/pcmu"}},
            {"f": {"type": "audio/pcmu"}},
        ),
        (
            {"t": {"type": "server_vad", "threshold": 0.5}},
            {"t": {"threshold": 0.7}},
            {"t": {"type": "server_vad", "threshold": 0.7}},
        ),
        ({"a": None}, {"a": {"x": 1}}, {"a": {"x": 1}}),
    ],
)
def test_merge(current: dict[str, Any], update: dict[str, Any], expected: dict[str, Any]) -> None:
    before = repr(current)
    assert merge(current, update) == expected
    assert repr(current) == before  # the current session is not modified


def test_defaults_and_accessors() -> None:
    session = default_session("gpt-realtime")
    assert input_format(session) == output_format(session) == "audio/pcm"
    assert turn_detection(session) is not None
    assert not transcription_enabled(session)
    updated = check_update(
        session,
        {
            "type": "realtime",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcmu"},
                    "transcription": {"model": "whisper-1"},
                },
                "output": {"format": {"type": "audio/pcm"}},
            },
        },
        audio_sent=False,
    )
    assert input_format(updated) == "audio/pcmu"
    assert updated["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert transcription_enabled(updated)


def test_only_server_vad_is_simulated() -> None:
    with pytest.raises(SessionUpdateError) as info:
        check_update(
            default_session("m"),
            {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "semantic_vad"}}}},
            audio_sent=False,
        )
    assert info.value.param == "session.audio.input.turn_detection.type"
    with pytest.raises(SessionUpdateError):
        check_update(default_session("m"), "not an object", audio_sent=False)
