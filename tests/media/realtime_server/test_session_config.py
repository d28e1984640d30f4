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


def _input(**fields: object) -> dict[str, object]:
    return {"type": "realtime", "audio": {"input": fields}}


def test_semantic_vad_and_noise_reduction_are_accepted_in_their_ga_shape() -> None:
    updated = check_update(
        default_session("m"),
        _input(
            turn_detection={
                "type": "semantic_vad",
                "eagerness": "low",
                "create_response": False,
                "interrupt_response": False,
            },
            noise_reduction={"type": "near_field"},
        ),
        audio_sent=False,
    )
    # the type changed: no server_vad field lingers
    assert updated["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad",
        "eagerness": "low",
        "create_response": False,
        "interrupt_response": False,
    }
    assert updated["audio"]["input"]["noise_reduction"] == {"type": "near_field"}
    cleared = check_update(updated, _input(noise_reduction=None), audio_sent=False)
    assert cleared["audio"]["input"]["noise_reduction"] is None


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"turn_detection": {"type": "push_to_talk"}}, "turn_detection.type"),
        ({"turn_detection": {"type": "semantic_vad", "threshold": 0.5}}, "threshold"),
        ({"turn_detection": {"type": "semantic_vad", "eagerness": "eager"}}, "eagerness"),
        ({"turn_detection": {"type": "server_vad", "eagerness": "low"}}, "eagerness"),
        ({"noise_reduction": {"type": "telephone"}}, "noise_reduction.type"),
    ],
)
def test_turn_detection_and_noise_reduction_outside_the_ga_shape_are_refused(
    fields: dict[str, object], param: str
) -> None:
    with pytest.raises(SessionUpdateError) as info:
        check_update(default_session("m"), _input(**fields), audio_sent=False)
    assert info.value.param.endswith(param)


def test_a_session_update_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(SessionUpdateError):
        check_update(default_session("m"), "not an object", audio_sent=False)
