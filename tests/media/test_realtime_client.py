"""The SDK-based Realtime client against the local GA server: only the base URL differs from
talking to OpenAI, no monkeypatching."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import numpy as np
import pytest
from websockets.asyncio.server import ServerConnection, serve

from core.settings import Settings
from media import realtime_events as rt
from media.audio import slin_to_ulaw
from media.realtime_client import (
    RealtimeClient,
    RealtimeClientFactory,
    RealtimeConfigError,
    RealtimeConnectionError,
    RealtimeTimeouts,
)
from media.realtime_events import MalformedEvent
from media.realtime_server import (
    CallTool,
    RealtimeTestServer,
    Say,
    Script,
    ScriptedResponse,
    SimOptions,
)

SCRIPT = Script(
    responses=[
        ScriptedResponse(outputs=[Say(text="Hello, this is an assistant calling for Alex.")]),
        ScriptedResponse(outputs=[CallTool(name="end_call", arguments={"reason": "done"})]),
    ],
    caller_transcripts=["Who is calling?"],
)


@pytest.fixture
async def server() -> AsyncIterator[RealtimeTestServer]:
    async with RealtimeTestServer(SCRIPT, options=SimOptions(realtime_factor=0)) as srv:
        yield srv


def caller_audio(tone_ms: int, silence_ms: int) -> list[bytes]:
    t = np.arange(8 * tone_ms) / 8000
    pcm = np.concatenate([0.3 * 32767 * np.sin(2 * np.pi * 300 * t), np.zeros(8 * silence_ms)])
    ulaw = slin_to_ulaw(np.round(pcm).astype("<i2").tobytes())
    return [ulaw[i : i + 160] for i in range(0, len(ulaw), 160)]


async def next_of(client: RealtimeClient, kind: type) -> object:
    async with asyncio.timeout(5):
        async for event in client.events():
            if isinstance(event, kind):
                return event
    raise AssertionError(f"connection closed before {kind.__name__}")


async def test_a_call_through_the_sdk(server: RealtimeTestServer) -> None:
    settings = Settings(
        realtime_url=server.url, realtime_model="gpt-realtime", openai_api_key="sk-test"
    )
    factory = RealtimeClientFactory.from_settings(settings)
    async with factory() as client:
        assert isinstance(await client.recv(), rt.SessionCreated)
        await client.send(
            rt.session_update(
                instructions="Book a cleaning.",
                voice="marin",
                tools=[rt.FunctionTool("end_call", "Hang up.")],
            )
        )
        updated = await next_of(client, rt.SessionUpdated)
        assert isinstance(updated, rt.SessionUpdated)
        assert updated.session["audio"]["output"]["format"] == {"type": "audio/pcmu"}
        await client.send(rt.response_create())
        audio = b""
        async with asyncio.timeout(5):
            async for event in client.events():
                if isinstance(event, rt.AudioDelta):
                    audio += event.audio
                    first_item = event.item_id
                if isinstance(event, rt.ResponseDone):
                    assert event.status == "completed"
                    break
        assert len(audio) > 8000  # over a second of μ-law
        await client.send(rt.item_truncate(first_item, 500))
        truncated = await next_of(client, rt.ItemTruncated)
        assert truncated == rt.ItemTruncated(first_item, 0, 500)
        for chunk in caller_audio(400, 600):
            await client.send(rt.input_audio_append(chunk))
        started = await next_of(client, rt.SpeechStarted)
        assert isinstance(started, rt.SpeechStarted)
        transcript = await next_of(client, rt.CallerTranscript)
        assert transcript == rt.CallerTranscript(started.item_id, "Who is calling?")
        call = await next_of(client, rt.FunctionCall)
        assert isinstance(call, rt.FunctionCall)
        assert call.parsed_arguments() == {"reason": "done"}
        await client.send(rt.function_call_output(call.call_id, {"ok": True}))
    await factory.aclose()
    record = server.connections[0]
    assert record.api_key == "sk-test"
    assert record.model == "gpt-realtime"
    assert record.path.startswith("/v1/realtime?model=gpt-realtime")
    assert record.truncations[0].audio_end_ms == 500
    await record.wait_for(lambda: record.function_outputs or None)
    assert record.function_outputs[0].output == '{"ok": true}'


async def test_a_local_server_needs_no_key_but_openai_does(server: RealtimeTestServer) -> None:
    async with RealtimeClient(base_url=server.url, model="m") as client:
        assert isinstance(await client.recv(), rt.SessionCreated)
    assert server.connections[0].api_key  # the SDK still sends a placeholder bearer
    with pytest.raises(RealtimeConfigError, match="OPENAI_API_KEY"):
        RealtimeClient(base_url="wss://api.openai.com/v1", model="gpt-realtime")


async def test_connect_failure_is_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    client = RealtimeClient(base_url=f"ws://127.0.0.1:{port}/v1", model="m", api_key="k")
    with pytest.raises(RealtimeConnectionError, match="cannot connect"):
        await client.connect()
    with pytest.raises(RealtimeConnectionError, match="not connected"):
        await client.send(rt.response_create())


async def test_idle_timeout_and_server_close(server: RealtimeTestServer) -> None:
    timeouts = RealtimeTimeouts(idle_s=0.2)
    async with RealtimeClient(base_url=server.url, model="m", timeouts=timeouts) as client:
        await client.recv()
        with pytest.raises(RealtimeConnectionError, match="no event"):
            await client.recv()
    async with RealtimeClient(base_url=server.url, model="m") as client:
        await client.recv()
        await server.close()
        assert [e async for e in client.events()] == []  # a normal close ends the stream


async def test_a_malformed_server_message_is_reported() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("not json")
        await ws.send('{"type": "input_audio_buffer.speech_started"}')
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as srv:
        port = next(iter(srv.sockets)).getsockname()[1]
        async with RealtimeClient(base_url=f"ws://127.0.0.1:{port}/v1", model="m") as client:
            # Reported as such, and the session goes on.
            assert await client.recv() == MalformedEvent("?", "the message is not JSON")
            bad = await client.recv()
            assert isinstance(bad, MalformedEvent)
            assert bad.type == "input_audio_buffer.speech_started"
            assert "audio_start_ms" in bad.problem


async def test_events_reach_the_wire_exactly_as_built(server: RealtimeTestServer) -> None:
    built = [
        rt.session_update(
            instructions="Book a cleaning — in English, «please».",
            voice="marin",
            tools=[rt.FunctionTool("end_call", "Hang up.")],
        ),
        rt.input_audio_append(caller_audio(20, 0)[0]),
        rt.item_truncate("item_x", 120),
        rt.function_call_output("call_1", {"ok": True, "note": "ünïcode"}),
        rt.response_cancel(),
    ]
    async with RealtimeClient(base_url=server.url, model="m") as client:
        for event in built:
            await client.send(event)
        record = server.connections[0]
        await record.wait_for(lambda: len(record.received) >= len(built) or None)
    # The server parsed text frames (it rejects binary ones) into exactly the dicts we built.
    assert list(record.received) == built


async def test_a_factorys_clients_share_one_sdk_client(server: RealtimeTestServer) -> None:
    factory = RealtimeClientFactory(base_url=server.url, model="gpt-realtime")
    first, second = factory(), factory()
    await first.connect()
    await second.connect()
    shared = factory._sdk
    assert shared is not None
    assert first._client is None and second._client is None  # neither owns an SDK client
    await first.close()
    assert not shared.is_closed()  # closing a call's client leaves the shared one open
    assert isinstance(await second.recv(), rt.SessionCreated)
    await second.send(rt.response_create())
    done = await next_of(second, rt.ResponseDone)
    assert isinstance(done, rt.ResponseDone)
    third = factory()
    await third.connect()
    assert factory._sdk is shared  # still the one client
    await third.close()
    await second.close()
    await factory.aclose()
    assert shared.is_closed()
    assert len(server.connections) == 3


async def test_a_factory_checks_the_key_per_client_and_never_tells_it() -> None:
    factory = RealtimeClientFactory(base_url="wss://api.openai.com/v1", model="gpt-realtime")
    with pytest.raises(RealtimeConfigError, match="OPENAI_API_KEY"):
        factory()  # a node without a key starts; its calls fail with a clear message
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    secret = "sk-test-do-not-print-0123456789"
    keyed = RealtimeClientFactory(base_url=f"ws://127.0.0.1:{port}/v1", model="m", api_key=secret)
    with pytest.raises(RealtimeConnectionError, match="cannot connect") as failed:
        await keyed().connect()
    assert secret not in str(failed.value)
    assert secret not in repr(keyed) and secret not in repr(keyed())
    await keyed.aclose()
