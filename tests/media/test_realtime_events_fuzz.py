"""Realtime server messages that are not what the protocol promises (property-based).

The parser never raises on a message off the wire: random JSON, random bytes, and real event
types with fields missing, added or of the wrong type come back as a typed event, as
`OtherEvent` (a type the call does not act on) or as `MalformedEvent` naming the type. And a
call's conversation, fed such messages between the real ones, does exactly what it would have
done without them and ends the same way.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain import EndedBy
from media.conversation import Timer
from media.conversation.inputs import CallEnded, CallStarted, Connected, PlayoutDrained
from media.realtime_events import (
    CallerTranscript,
    FunctionCall,
    MalformedEvent,
    MalformedServerEvent,
    OtherEvent,
    ResponseCreated,
    ResponseDone,
    ServerEvent,
    parse_server_event,
    read_server_event,
)
from tests.media.conversation_kit import SCRIPT, Call

FUZZ = settings(max_examples=80, deadline=None)
EVENT_CLASSES = get_args(ServerEvent)
COMMON = {"event_id": "ev_1", "response_id": "resp_1", "item_id": "item_1"}

# One valid example of every server event type the call acts on.
VALID: dict[str, dict[str, Any]] = {
    "session.created": {"session": {"id": "sess_1"}},
    "session.updated": {"session": {"id": "sess_1"}},
    "response.created": {"response": {"id": "resp_1", "status": "in_progress"}},
    "response.done": {
        "response": {
            "id": "resp_1",
            "status": "cancelled",
            "status_details": {"reason": "turn_detected", "error": {"message": "x"}},
        }
    },
    "response.output_audio.delta": {**COMMON, "delta": base64.b64encode(b"\xff" * 8).decode()},
    "response.output_audio.done": COMMON,
    "response.output_audio_transcript.delta": {**COMMON, "delta": "Hel"},
    "response.output_audio_transcript.done": {**COMMON, "transcript": "Hello"},
    "conversation.item.input_audio_transcription.completed": {"item_id": "i", "transcript": "hi"},
    "conversation.item.input_audio_transcription.failed": {
        "item_id": "i",
        "error": {"message": "no"},
    },
    "input_audio_buffer.speech_started": {"audio_start_ms": 120, "item_id": "i"},
    "input_audio_buffer.speech_stopped": {"audio_end_ms": 900, "item_id": "i"},
    "response.function_call_arguments.done": {
        **COMMON,
        "call_id": "c1",
        "name": "end_call",
        "arguments": "{}",
    },
    "conversation.item.truncated": {"item_id": "i", "content_index": 0, "audio_end_ms": 300},
    "error": {"error": {"type": "invalid_request_error", "message": "bad", "code": "x"}},
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(sorted(VALID)),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def _read(data: Any) -> ServerEvent:
    return read_server_event(json.dumps(data))


@FUZZ
@given(json_values)
def test_any_json_value_is_an_event_or_reported_malformed(value: Any) -> None:
    event = _read(value)
    assert isinstance(event, EVENT_CLASSES)
    if not isinstance(value, dict):
        assert event == MalformedEvent("?", "the message is not a JSON object")


@FUZZ
@given(st.binary(max_size=64))
def test_any_bytes_are_an_event_or_reported_malformed(raw: bytes) -> None:
    assert isinstance(read_server_event(raw), EVENT_CLASSES)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, dict[str, Any], bool]:
    """A real event type with fields dropped, changed or added; whether only extras were added."""
    kind = draw(st.sampled_from(sorted(VALID)))
    data: dict[str, Any] = {"type": kind, **copy.deepcopy(VALID[kind])}
    only_extras = True
    # The fields of the event and of the objects nested in it (`response`, `error`, …).
    holders = [data, *(v for v in data.values() if isinstance(v, dict))]
    for _ in range(draw(st.integers(1, 4))):
        holder = draw(st.sampled_from(holders))
        keys = sorted(k for k in holder if holder is not data or k != "type")
        choice = draw(st.sampled_from(["drop", "retype", "extra"] if keys else ["extra"]))
        if choice == "extra":
            name = "x_" + draw(st.text(max_size=6))
            holder[name] = draw(json_values)
            continue
        only_extras = False
        key = draw(st.sampled_from(keys))
        if choice == "drop":
            del holder[key]
        else:
            holder[key] = draw(json_values)
    return kind, data, only_extras


@FUZZ
@given(mutated())
def test_a_real_event_with_wrong_fields_parses_or_is_reported_as_malformed(
    case: tuple[str, dict[str, Any], bool],
) -> None:
    kind, data, only_extras = case
    event = _read(data)
    assert not isinstance(event, OtherEvent)  # the type is still one the call acts on
    if isinstance(event, MalformedEvent):
        assert event.type == kind and event.problem
        assert not only_extras, "fields the protocol may add must not break an event"
    else:
        assert type(event) is type(parse_server_event({"type": kind, **VALID[kind]}))
    if isinstance(event, MalformedEvent):
        with pytest.raises(MalformedServerEvent) as info:
            parse_server_event(data)
        assert info.value.event_type.startswith(kind)  # or a nested object's path in it
    else:
        assert parse_server_event(data) == event


# --- the conversation does not notice them --------------------------------------------------

Step = Any  # an input, a `Timer` to fire, or ("after", ms, input)


def _person_ends_the_call() -> list[Step]:
    return [
        CallStarted(SCRIPT, "HUMAN"),
        Connected(),
        ResponseCreated("r0"),
        ResponseDone("r0", "completed"),
        CallerTranscript("in-1", "Hello, Bright Smile Dental."),
        ResponseCreated("r1"),
        FunctionCall("r1", "item-end", "c9", "end_call", '{"reason": "booked"}'),
        ResponseDone("r1", "completed"),
        PlayoutDrained(),
        CallEnded("hangup"),
    ]


def _callee_hangs_up() -> list[Step]:
    return [
        CallStarted(SCRIPT, "HUMAN"),
        Connected(),
        ResponseCreated("r0"),
        CallerTranscript("in-1", "Not interested."),
        CallEnded("hangup"),
    ]


def _silent_mailbox() -> list[Step]:
    return [
        CallStarted(SCRIPT, "MACHINE"),
        Connected(),
        Timer.MACHINE_WAIT,
        ResponseCreated("vm"),
        ResponseDone("vm", "completed"),
        PlayoutDrained(),
        CallEnded("hangup"),
    ]


CALLS = {
    "the agent ends it": (_person_ends_the_call, EndedBy.AGENT),
    "the callee hangs up": (_callee_hangs_up, EndedBy.CALLEE),
    "a silent mailbox": (_silent_mailbox, EndedBy.VOICEMAIL),
}


IGNORED = (MalformedEvent, OtherEvent)


def _play(steps: list[Step]) -> tuple[Call, list[list[Any]]]:
    """Each step 100 ms after the one before; the noise arrives in between, taking no time."""
    call = Call()
    said = []
    for step in steps:
        if isinstance(step, Timer):
            said.append(call.fire(step))
        else:
            said.append(call(step, after_ms=0 if isinstance(step, IGNORED) else 100))
    return call, said


@st.composite
def noise(draw: st.DrawFn) -> ServerEvent:
    """A message the conversation must not act on: malformed, or of a type it ignores."""
    if draw(st.booleans()):
        event = _read(draw(mutated())[1])
        if isinstance(event, MalformedEvent):
            return event
    return _read({"type": draw(st.sampled_from(["rate_limits.updated", "x.y", ""]))})


@FUZZ
@given(st.sampled_from(sorted(CALLS)), st.lists(st.tuples(st.integers(0, 20), noise()), max_size=6))
def test_malformed_events_do_not_change_what_a_call_does(
    name: str, inserts: list[tuple[int, ServerEvent]]
) -> None:
    make, ended_by = CALLS[name]
    clean_call, clean = _play(make())
    assert clean_call.conversation.result.ended_by is ended_by
    steps = make()
    for at, event in sorted(inserts, key=lambda x: x[0], reverse=True):
        steps.insert(min(at, len(steps)), event)
    noisy_call, noisy = _play(steps)
    pairs = list(zip(steps, noisy, strict=True))
    kept = [out for step, out in pairs if not isinstance(step, IGNORED)]
    assert [out for step, out in pairs if isinstance(step, IGNORED)] == [[]] * len(inserts)
    assert kept == clean
    assert noisy_call.conversation.result == clean_call.conversation.result
    assert noisy_call.phase is clean_call.phase
    malformed = sum(isinstance(e, MalformedEvent) for _, e in inserts)
    assert noisy_call.conversation.counts.malformed_events == malformed
