"""The local Realtime server speaks GA: handshake, session, VAD, scripted responses, barge-in,
cancel, truncate, tools, errors. Every event it sends is validated against the SDK's GA types
by the fixture (see conftest)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from http import HTTPStatus
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from media.realtime_server import CallerTurn, CallTool, Say, Script, ScriptedResponse
from media.realtime_server.synth import tone_speech
from tests.media.realtime_server.conftest import PCMU_SESSION

SAY_HELLO = Script(responses=[ScriptedResponse(outputs=[Say(text="Hello there, how are you?")])])
LONG_SPEECH = Script(
    responses=[ScriptedResponse(outputs=[Say(text=" ".join(["word"] * 40) + ".")])] * 2
)


async def test_handshake_requires_bearer_and_the_realtime_path(make_server: Any) -> None:
    srv = await make_server()
    with pytest.raises(InvalidStatus) as info:
        await connect(f"{srv.url}/realtime?model=m")
    assert info.value.response.status_code == HTTPStatus.UNAUTHORIZED
    with pytest.raises(InvalidStatus) as info:
        await connect(f"{srv.url}/other", additional_headers={"Authorization": "Bearer k"})
    assert info.value.response.status_code == HTTPStatus.NOT_FOUND


async def test_session_created_and_updated_keep_the_ga_shape(
    make_server: Any, open_client: Any
) -> None:
    srv = await make_server()
    client = await open_client(srv, model="gpt-realtime-mini")
    created = client.events[0]["session"]
    assert created["type"] == "realtime"
    assert created["object"] == "realtime.session"
    assert created["model"] == "gpt-realtime-mini"
    assert created["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    await client.send(
        {**PCMU_SESSION, "session": {**PCMU_SESSION["session"], "instructions": "Be brief."}}
    )
    updated = (await client.until("session.updated"))["session"]
    assert updated["instructions"] == "Be brief."
    assert updated["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert updated["audio"]["output"]["voice"] == "marin"
    # fields not in the update are kept; turn detection defaults survive a partial update
    assert updated["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    assert updated["tools"] == []
    record = srv.connections[0]
    assert record.model == "gpt-realtime-mini"
    assert record.api_key == "test-key"
    assert record.session == updated
    # null clears turn detection
    await client.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
        }
    )
    assert (await client.until("session.updated"))["session"]["audio"]["input"][
        "turn_detection"
    ] is None


@pytest.mark.parametrize(
    ("session", "param"),
    [
        ({"type": "transcription"}, "session.type"),
        (
            {"type": "realtime", "audio": {"input": {"format": {"type": "audio/wav"}}}},
            "session.audio.input.format.type",
        ),
        (
            {"type": "realtime", "audio": {"output": {"format": {"type": "audio/pcma"}}}},
            "session.audio.output.format.type",
        ),
    ],
)
async def test_bad_session_updates_get_error_events(
    make_server: Any, open_client: Any, session: dict[str, Any], param: str
) -> None:
    client = await open_client(await make_server())
    await client.send({"type": "session.update", "event_id": "evt_9", "session": session})
    error = (await client.until("error"))["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["event_id"] == "evt_9"


async def test_a_scripted_speech_response(make_server: Any, open_client: Any) -> None:
    client = await open_client(await make_server(SAY_HELLO, chunk_ms=100))
    await client.send(PCMU_SESSION)
    await client.until("session.updated")
    await client.send({"type": "response.create"})
    done = await client.until("response.done")
    types = client.types()
    start = types.index("response.created")
    assert types[start : start + 4] == [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
    ]
    assert types[-6:] == [
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    deltas = [e for e in client.events if e["type"] == "response.output_audio.delta"]
    audio = b"".join(base64.b64decode(e["delta"]) for e in deltas)
    assert len(audio) == len(tone_speech("Hello there, how are you?"))  # μ-law: 1 byte a sample
    assert all(len(base64.b64decode(e["delta"])) <= 800 for e in deltas)  # 100 ms at 8 kHz
    words = "".join(
        e["delta"] for e in client.events if e["type"] == "response.output_audio_transcript.delta"
    )
    assert words == "Hello there, how are you?"
    response = done["response"]
    assert response["status"] == "completed"
    assert response["output"][0]["content"][0]["transcript"] == "Hello there, how are you?"
    assert {e["response_id"] for e in deltas} == {response["id"]}


async def test_server_vad_turn_then_automatic_response(make_server: Any, open_client: Any) -> None:
    script = Script(responses=SAY_HELLO.responses, caller_transcripts=["Hi, who is this?"])
    client = await open_client(await make_server(script))
    await client.send(PCMU_SESSION)
    await client.until("session.updated")
    await client.speak([("silence", 1000), ("tone", 600), ("silence", 700)])
    started = await client.until("input_audio_buffer.speech_started")
    assert started["audio_start_ms"] == 1000 - 300  # includes prefix_padding_ms
    stopped = await client.until("input_audio_buffer.speech_stopped")
    assert stopped["audio_end_ms"] == 1000 + 600 + 500
    assert stopped["item_id"] == started["item_id"]
    committed = await client.until("input_audio_buffer.committed")
    assert committed["item_id"] == started["item_id"]
    added = await client.until("conversation.item.added")
    assert added["item"]["role"] == "user"
    transcript = await client.until("conversation.item.input_audio_transcription.completed")
    assert transcript["transcript"] == "Hi, who is this?"
    assert transcript["item_id"] == started["item_id"]
    await client.until("response.created")
    await client.until("response.done")


async def test_barge_in_cancels_the_response_with_turn_detected(
    make_server: Any, open_client: Any
) -> None:
    srv = await make_server(LONG_SPEECH, realtime_factor=1.0)
    client = await open_client(srv)
    await client.send(PCMU_SESSION)
    await client.until("session.updated")
    await client.send({"type": "response.create"})
    await client.until("response.output_audio.delta")
    await client.speak([("tone", 200)])
    await client.until("input_audio_buffer.speech_started")
    done = await client.until("response.done")
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"]["reason"] == "turn_detected"
    transcript = next(
        e for e in client.events if e["type"] == "response.output_audio_transcript.done"
    )
    assert len(transcript["transcript"]) < len(LONG_SPEECH.responses[0].outputs[0].text)  # type: ignore[union-attr]
    item = next(e for e in client.events if e["type"] == "response.output_item.done")["item"]
    assert item["status"] == "incomplete"


async def test_cancel_and_truncate_are_recorded(make_server: Any, open_client: Any) -> None:
    srv = await make_server(LONG_SPEECH, realtime_factor=1.0, chunk_ms=40)
    client = await open_client(srv)
    await client.send(PCMU_SESSION)
    await client.send({"type": "response.create"})
    delta = await client.until("response.output_audio.delta")
    await client.send({"type": "response.create"})
    error = (await client.until("error"))["error"]
    assert error["code"] == "conversation_already_has_active_response"
    await client.send({"type": "response.cancel"})
    done = await client.until("response.done")
    assert done["response"]["status_details"]["reason"] == "client_cancelled"
    await client.send(
        {
            "type": "conversation.item.truncate",
            "item_id": delta["item_id"],
            "content_index": 0,
            "audio_end_ms": 20,
        }
    )
    truncated = await client.until("conversation.item.truncated")
    assert (truncated["item_id"], truncated["audio_end_ms"]) == (delta["item_id"], 20)
    record = srv.connections[0]
    assert [(t.item_id, t.audio_end_ms) for t in record.truncations] == [(delta["item_id"], 20)]
    # the caller cannot have heard more than was produced, and the item must exist
    await client.send(
        {
            "type": "conversation.item.truncate",
            "item_id": delta["item_id"],
            "content_index": 0,
            "audio_end_ms": 60_000,
        }
    )
    assert (await client.until("error"))["error"]["param"] == "audio_end_ms"
    await client.send(
        {
            "type": "conversation.item.truncate",
            "item_id": "item_nope",
            "content_index": 0,
            "audio_end_ms": 0,
        }
    )
    assert (await client.until("error"))["error"]["param"] == "item_id"
    await client.send({"type": "response.cancel"})
    assert (await client.until("error"))["error"]["code"] == "response_cancel_not_active"
    assert len(record.truncations) == 1


async def test_function_call_waits_for_output_and_response_create(
    make_server: Any, open_client: Any
) -> None:
    script = Script(
        responses=[
            ScriptedResponse(
                outputs=[
                    Say(text="One moment."),
                    CallTool(name="request_user_feedback", arguments={"question": "Tuesday?"}),
                ]
            ),
            ScriptedResponse(outputs=[Say(text="Tuesday works.")]),
        ]
    )
    srv = await make_server(script)
    client = await open_client(srv)
    await client.send(PCMU_SESSION)
    await client.send({"type": "response.create"})
    args_done = await client.until("response.function_call_arguments.done")
    assert args_done["name"] == "request_user_feedback"
    assert json.loads(args_done["arguments"]) == {"question": "Tuesday?"}
    added = next(
        e
        for e in client.events
        if e["type"] == "response.output_item.added" and e["item"]["type"] == "function_call"
    )
    assert added["item"]["call_id"] == args_done["call_id"]
    deltas = "".join(
        e["delta"] for e in client.events if e["type"] == "response.function_call_arguments.delta"
    )
    assert deltas == args_done["arguments"]
    done = await client.until("response.done")
    assert [o["type"] for o in done["response"]["output"]] == ["message", "function_call"]
    with pytest.raises(TimeoutError):  # nothing more until the client answers
        await client.next(timeout=0.3)
    await client.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "function_call_output",
                "call_id": args_done["call_id"],
                "output": '{"answer": "yes"}',
            },
        }
    )
    item = (await client.until("conversation.item.done"))["item"]
    assert item["type"] == "function_call_output"
    await client.send({"type": "response.create"})
    transcript = await client.until("response.output_audio_transcript.done")
    assert transcript["transcript"] == "Tuesday works."
    record = srv.connections[0]
    assert [(o.call_id, o.output) for o in record.function_outputs] == [
        (args_done["call_id"], '{"answer": "yes"}')
    ]


def MESSAGE_AS(role: str, text: str = "Offer Wednesday instead.") -> dict[str, Any]:
    return {"type": "message", "role": role, "content": [{"type": "input_text", "text": text}]}


async def test_a_system_message_is_recorded_and_the_next_response_acts_on_it(
    make_server: Any, open_client: Any
) -> None:
    script = Script(
        responses=[ScriptedResponse(outputs=[Say(text="Tuesday at nine, then.")])],
        note_reply="Actually, $note",
    )
    srv = await make_server(script)
    client = await open_client(srv)
    await client.send(PCMU_SESSION)
    note = "A note from the owner:\nOffer Wednesday instead."
    await client.send({"type": "conversation.item.create", "item": MESSAGE_AS("system", note)})
    added = (await client.until("conversation.item.added"))["item"]
    assert (added["role"], added["content"][0]["text"]) == ("system", note)
    await client.until("conversation.item.done")
    with pytest.raises(TimeoutError):  # a message asks for no response of its own
        await client.next(timeout=0.3)
    await client.send({"type": "response.create"})
    said = []
    while len(said) < 2:
        said.append((await client.until("response.output_audio_transcript.done"))["transcript"])
    assert said == ["Actually, Offer Wednesday instead.", "Tuesday at nine, then."]
    # A user message is recorded too, and acted on by nothing.
    await client.send({"type": "conversation.item.create", "item": MESSAGE_AS("user", "Hi")})
    await client.until("conversation.item.done")
    record = srv.connections[0]
    assert [(m.role, m.text) for m in record.messages] == [("system", note), ("user", "Hi")]


async def test_a_response_asked_with_instructions_a_script_replies_to_gets_that_reply(
    make_server: Any, open_client: Any
) -> None:
    """A model following a response's own instructions: the script's reply to them plays, and
    the scripted response that was next is still next."""
    script = Script(
        responses=[ScriptedResponse(outputs=[Say(text="Tuesday at nine, then.")])],
        replies={"stay on the line": ScriptedResponse(outputs=[Say(text="Connecting you.")])},
    )
    client = await open_client(await make_server(script))
    await client.send(PCMU_SESSION)
    asked = {"instructions": "Tell them to stay on the line."}
    await client.send({"type": "response.create", "response": asked})
    first = (await client.until("response.output_audio_transcript.done"))["transcript"]
    await client.until("response.done")
    await client.send({"type": "response.create", "response": {"instructions": "Go on."}})
    second = (await client.until("response.output_audio_transcript.done"))["transcript"]
    assert (first, second) == ("Connecting you.", "Tuesday at nine, then.")


async def test_an_exhausted_script_answers_with_an_empty_response(
    make_server: Any, open_client: Any
) -> None:
    client = await open_client(await make_server(Script()))
    await client.send({"type": "response.create"})
    done = await client.until("response.done")
    assert done["response"]["status"] == "completed"
    assert done["response"]["output"] == []


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_json"),
        (json.dumps({"type": "response.audio.delta"}), "invalid_value"),
        (json.dumps({"event_id": "x"}), "missing_required_parameter"),
        (json.dumps({"type": "input_audio_buffer.append"}), "missing_required_parameter"),
        (json.dumps({"type": "input_audio_buffer.append", "audio": "***"}), "invalid_value"),
        (
            json.dumps({"type": "conversation.item.create", "item": {"type": "bogus"}}),
            "invalid_value",
        ),
        (
            json.dumps(
                {"type": "conversation.item.create", "item": {"type": "function_call_output"}}
            ),
            "missing_required_parameter",
        ),
        (
            json.dumps({"type": "conversation.item.truncate", "item_id": "i"}),
            "missing_required_parameter",
        ),
        (
            json.dumps({"type": "conversation.item.create", "item": MESSAGE_AS("owner")}),
            "invalid_value",
        ),
        (
            json.dumps(
                {
                    "type": "conversation.item.create",
                    "item": {**MESSAGE_AS("system"), "content": []},
                }
            ),
            "missing_required_parameter",
        ),
        (
            json.dumps(
                {
                    "type": "conversation.item.create",
                    "item": {
                        **MESSAGE_AS("system"),
                        "content": [{"type": "input_audio", "audio": ""}],
                    },
                }
            ),
            "invalid_value",
        ),
        (
            json.dumps(
                {
                    "type": "conversation.item.create",
                    "item": {**MESSAGE_AS("user"), "content": [{"type": "input_text"}]},
                }
            ),
            "missing_required_parameter",
        ),
        (json.dumps({"type": "input_audio_buffer.commit"}), "input_audio_buffer_commit_empty"),
    ],
)
async def test_malformed_client_events_get_errors_and_the_session_lives_on(
    make_server: Any, open_client: Any, message: str, code: str
) -> None:
    client = await open_client(await make_server(SAY_HELLO))
    await client.ws.send(message)
    error = await client.until("error")
    assert error["error"]["code"] == code
    await client.send({"type": "response.create"})
    await client.until("response.done")


async def test_manual_commit_without_turn_detection(make_server: Any, open_client: Any) -> None:
    turns: list[CallerTurn] = []

    def transcriber(turn: CallerTurn) -> str:
        turns.append(turn)
        return "manual turn"

    srv = await make_server(SAY_HELLO, transcriber=transcriber)
    client = await open_client(srv)
    session = json.loads(json.dumps(PCMU_SESSION))
    session["session"]["audio"]["input"]["turn_detection"] = None
    await client.send(session)
    await client.until("session.updated")
    await client.speak([("tone", 300), ("silence", 700)])
    await client.send({"type": "input_audio_buffer.commit"})
    committed = await client.until("input_audio_buffer.committed")
    done = await client.until("conversation.item.input_audio_transcription.completed")
    assert done["transcript"] == "manual turn"
    assert done["item_id"] == committed["item_id"]
    assert "input_audio_buffer.speech_started" not in client.types()
    assert len(turns) == 1
    assert len(turns[0].audio) == 8000 and turns[0].sample_rate == 8000
    with pytest.raises(TimeoutError):  # no response without turn detection
        await client.until("response.created", timeout=0.3)
    await client.send({"type": "input_audio_buffer.clear"})
    await client.until("input_audio_buffer.cleared")
    assert srv.connections[0].input_audio_ms == 1000


async def test_pcm16_at_24khz(make_server: Any, open_client: Any) -> None:
    client = await open_client(await make_server(SAY_HELLO, chunk_ms=50))
    await client.speak([("tone", 400), ("silence", 600)], rate=24000, fmt="pcm")  # default format
    started = await client.until("input_audio_buffer.speech_started")
    assert started["audio_start_ms"] == 0
    await client.until("response.created")
    deltas = []
    while (event := await client.next())["type"] != "response.done":
        if event["type"] == "response.output_audio.delta":
            deltas.append(base64.b64decode(event["delta"]))
    assert len(deltas[0]) == 50 * 48
    assert len(b"".join(deltas)) == len(tone_speech("Hello there, how are you?", 24000)) * 2


async def test_voice_cannot_change_after_audio(make_server: Any, open_client: Any) -> None:
    client = await open_client(await make_server(SAY_HELLO))
    await client.send({"type": "response.create"})
    await client.until("response.done")
    await client.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"output": {"voice": "cedar"}}},
        }
    )
    assert (await client.until("error"))["error"]["param"] == "session.audio.output.voice"


async def test_real_time_pacing(make_server: Any, open_client: Any) -> None:
    client = await open_client(await make_server(SAY_HELLO, realtime_factor=2.0))
    seconds = len(tone_speech("Hello there, how are you?")) / 8000
    await client.send({"type": "response.create"})
    await client.until("response.output_audio.delta")
    start = time.monotonic()
    await client.until("response.done", timeout=10)
    elapsed = time.monotonic() - start
    assert elapsed >= seconds / 2 * 0.7  # streamed at about twice real time, not all at once


async def test_connections_are_independent(make_server: Any, open_client: Any) -> None:
    srv = await make_server(SAY_HELLO)
    first, second = await open_client(srv), await open_client(srv)
    await asyncio.gather(
        first.send({"type": "response.create"}), second.send({"type": "response.create"})
    )
    for client in (first, second):
        done = await client.until("response.done")
        assert (
            done["response"]["output"][0]["content"][0]["transcript"] == "Hello there, how are you?"
        )
    assert len(srv.connections) == 2
    await first.ws.close()
    await srv.connections[0].wait_for(lambda: srv.connections[0].closed or None)


async def test_wav_audio_file_is_used_for_speech(
    make_server: Any, open_client: Any, tmp_path: Any
) -> None:
    import wave

    rate = 16000
    samples = np.round(0.2 * 32767 * np.sin(2 * np.pi * 500 * np.arange(rate // 2) / rate)).astype(
        "<i2"
    )
    with wave.open(str(tmp_path / "hello.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    script = Script(
        responses=[ScriptedResponse(outputs=[Say(text="Hello.", audio_file="hello.wav")])],  # type: ignore[arg-type]
        base_dir=tmp_path,
    )
    client = await open_client(await make_server(script))
    await client.send(PCMU_SESSION)
    await client.send({"type": "response.create"})
    await client.until("response.done")
    audio = b"".join(
        base64.b64decode(e["delta"])
        for e in client.events
        if e["type"] == "response.output_audio.delta"
    )
    assert len(audio) == 4000  # 0.5 s resampled to 8 kHz μ-law


async def test_withheld_transcription_sends_no_transcription_event(
    make_server: Any, open_client: Any
) -> None:
    script = Script(responses=SAY_HELLO.responses, caller_transcripts=["Hi, who is this?"])
    client = await open_client(await make_server(script, transcription="withhold"))
    await client.send(PCMU_SESSION)  # the session asks for transcription; none comes
    await client.until("session.updated")
    await client.speak([("silence", 1000), ("tone", 600), ("silence", 700)])
    await client.until("input_audio_buffer.speech_stopped")
    await client.until("response.done")  # the turn is answered as usual
    assert not [t for t in client.types() if "input_audio_transcription" in t]


async def test_failing_transcription_fails_every_turn(make_server: Any, open_client: Any) -> None:
    script = Script(responses=SAY_HELLO.responses, caller_transcripts=["Hi, who is this?"])
    client = await open_client(await make_server(script, transcription="fail"))
    await client.send(PCMU_SESSION)
    await client.until("session.updated")
    await client.speak([("silence", 1000), ("tone", 600), ("silence", 700)])
    started = await client.until("input_audio_buffer.speech_started")
    failed = await client.until("conversation.item.input_audio_transcription.failed")
    assert failed["item_id"] == started["item_id"]
    assert failed["error"]["message"]
    await client.until("response.done")
    assert "conversation.item.input_audio_transcription.completed" not in client.types()
