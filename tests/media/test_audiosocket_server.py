"""The AudioSocket server on real TCP (127.0.0.1, port 0) with a fake Asterisk peer."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from media.audio import SLIN_SILENCE_FRAME
from media.audiosocket_codec import (
    AudioFrame,
    HangupFrame,
    encode_dtmf,
    encode_error,
    encode_hangup,
)
from media.audiosocket_server import AudioSocketServer
from media.audiosocket_session import SessionLimits
from media.playout import PlayoutBuffer
from media.session import Dtmf, EndReason, InboundAudio, PeerError, SessionControl, SessionEvent
from tests.kit import until
from tests.media.fake_asterisk import FakeAsterisk, numbered_frame

KNOWN = uuid.UUID("11111111-2222-4333-8444-555555555555")
OTHER = uuid.UUID("66666666-7777-4888-9999-000000000000")


class Handler:
    def __init__(self, fail_on_event: bool = False) -> None:
        self.playout = PlayoutBuffer()
        self.control: SessionControl | None = None
        self.events: list[SessionEvent] = []
        self.ends: list[EndReason] = []
        self.ended = asyncio.Event()
        self.fail_on_event = fail_on_event

    async def on_start(self, control: SessionControl) -> None:
        self.control = control

    async def on_event(self, event: SessionEvent) -> None:
        if self.fail_on_event:
            raise RuntimeError("handler bug")
        self.events.append(event)

    async def on_end(self, reason: EndReason) -> None:
        self.ends.append(reason)
        self.ended.set()

    def audio(self) -> list[bytes]:
        return [e.pcm for e in self.events if isinstance(e, InboundAudio)]


@pytest.fixture
def handlers() -> dict[uuid.UUID, Handler]:
    return {KNOWN: Handler(), OTHER: Handler()}


@pytest.fixture
async def make_server(handlers: dict[uuid.UUID, Handler]) -> AsyncIterator[Callable[..., Any]]:
    started: list[AudioSocketServer] = []

    async def make(**kwargs: Any) -> AudioSocketServer:
        async def resolve(call_id: uuid.UUID) -> Handler | None:
            return handlers.get(call_id)

        srv = AudioSocketServer(resolve, **kwargs)
        await srv.start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        await srv.stop()


@pytest.fixture
async def server(make_server: Callable[..., Any]) -> AsyncIterator[AudioSocketServer]:
    srv = await make_server()
    yield srv
    await srv.stop()


@pytest.fixture
async def peers() -> AsyncIterator[list[FakeAsterisk]]:
    made: list[FakeAsterisk] = []
    yield made
    for peer in made:
        await peer.close()


async def connect(
    server: AudioSocketServer, peers: list[FakeAsterisk], call_id: uuid.UUID = KNOWN, **kw: Any
) -> FakeAsterisk:
    peer = FakeAsterisk(server.port, call_id)
    peers.append(peer)
    await peer.connect(**kw)
    return peer


async def test_silence_at_once_then_a_frame_every_20_ms(
    server: AudioSocketServer, peers: list[FakeAsterisk], handlers: dict[uuid.UUID, Handler]
) -> None:
    peer = await connect(server, peers)
    peer.stream()
    frames = await peer.wait_frames(50)
    first_at = frames[0][0] - peer.connected_at
    assert first_at < 0.04  # Asterisk issue #2089: media must flow from the start
    assert all(f == AudioFrame(SLIN_SILENCE_FRAME) for _, f in frames)
    mean_period = (frames[-1][0] - frames[0][0]) / (len(frames) - 1)
    assert mean_period == pytest.approx(0.020, abs=0.003)
    assert handlers[KNOWN].ends == []


async def test_inbound_audio_and_dtmf_reach_the_handler_in_order(
    server: AudioSocketServer, peers: list[FakeAsterisk], handlers: dict[uuid.UUID, Handler]
) -> None:
    peer = await connect(server, peers)
    peer.stream(frames=10)
    await asyncio.sleep(0.25)
    await peer.send(encode_dtmf("7"))
    handler = handlers[KNOWN]
    await until(lambda: Dtmf("7") in handler.events, 2, "the DTMF digit 7 to arrive")
    assert handler.audio() == [numbered_frame(n) for n in range(10)]
    assert handler.events[-1] == Dtmf("7")
    assert handler.control is not None and handler.control.call_id == KNOWN


async def test_eof_without_hangup_frame_is_a_hangup(
    server: AudioSocketServer, peers: list[FakeAsterisk], handlers: dict[uuid.UUID, Handler]
) -> None:
    peer = await connect(server, peers)
    peer.stream(frames=5)
    await asyncio.sleep(0.15)
    await peer.close()
    handler = handlers[KNOWN]
    await asyncio.wait_for(handler.ended.wait(), 2)
    await asyncio.sleep(0.05)
    assert handler.ends == ["hangup"]  # exactly once
    assert len(handler.audio()) == 5  # what arrived before the close was delivered
    assert server.active_sessions == 0


async def test_hangup_frame_ends_the_call(
    server: AudioSocketServer, peers: list[FakeAsterisk], handlers: dict[uuid.UUID, Handler]
) -> None:
    peer = await connect(server, peers)
    await peer.send(encode_hangup())
    await asyncio.wait_for(handlers[KNOWN].ended.wait(), 2)
    await peer.wait_eof()
    assert handlers[KNOWN].ends == ["hangup"]


async def test_error_frame_is_delivered_then_ends_the_call(
    server: AudioSocketServer, peers: list[FakeAsterisk], handlers: dict[uuid.UUID, Handler]
) -> None:
    peer = await connect(server, peers)
    await peer.send(encode_error(2))
    await asyncio.wait_for(handlers[KNOWN].ended.wait(), 2)
    assert handlers[KNOWN].events == [PeerError(2)]
    assert handlers[KNOWN].ends == ["peer_error"]


async def test_unknown_uuid_is_hung_up_and_closed(
    server: AudioSocketServer, peers: list[FakeAsterisk], handlers: dict[uuid.UUID, Handler]
) -> None:
    peer = await connect(server, peers, call_id=uuid.uuid4())
    await peer.wait_eof()
    assert isinstance(peer.received[-1][1], HangupFrame)
    assert all(h.ends == [] for h in handlers.values())


async def test_first_frame_must_be_the_uuid(
    server: AudioSocketServer, peers: list[FakeAsterisk]
) -> None:
    peer = await connect(server, peers, send_uuid=False)
    await peer.send(encode_dtmf("1"))
    await peer.wait_eof()


async def test_no_uuid_in_time_closes(
    make_server: Callable[..., Any], peers: list[FakeAsterisk]
) -> None:
    srv = await make_server(limits=SessionLimits(first_frame_timeout_s=0.2))
    peer = await connect(srv, peers, send_uuid=False)
    await peer.wait_eof(timeout=2)
    await srv.stop()


async def test_a_garbage_peer_does_not_disturb_a_good_session(
    server: AudioSocketServer, peers: list[FakeAsterisk], handlers: dict[uuid.UUID, Handler]
) -> None:
    good = await connect(server, peers)
    good.stream()
    garbage = await connect(server, peers, call_id=OTHER)
    await asyncio.sleep(0.1)
    await garbage.send(b"\x42\x00\x05hello garbage")
    await garbage.wait_eof()
    await asyncio.wait_for(handlers[OTHER].ended.wait(), 2)
    assert handlers[OTHER].ends == ["protocol_error"]
    before = len(good.received)
    await good.wait_frames(before + 25)
    assert handlers[KNOWN].ends == []
    assert len(handlers[KNOWN].audio()) > 5
    # and garbage before any UUID is shrugged off too
    rude = await connect(server, peers, send_uuid=False)
    await rude.send(b"\xee" * 64)
    await rude.wait_eof()
    assert handlers[KNOWN].ends == []


async def test_queued_agent_audio_is_played_out_in_order(
    server: AudioSocketServer, peers: list[FakeAsterisk], handlers: dict[uuid.UUID, Handler]
) -> None:
    peer = await connect(server, peers)
    await asyncio.sleep(0.1)
    handlers[KNOWN].playout.push(b"".join(numbered_frame(n) for n in range(5)), item_id="item_1")
    await peer.wait_frames(len(peer.received) + 15)
    played = [
        f.pcm for _, f in peer.received if isinstance(f, AudioFrame) and f.pcm != SLIN_SILENCE_FRAME
    ]
    assert played == [numbered_frame(n) for n in range(5)]
    assert handlers[KNOWN].playout.played_ms("item_1") == 100


async def test_local_hangup_sends_the_hangup_frame(
    server: AudioSocketServer, peers: list[FakeAsterisk], handlers: dict[uuid.UUID, Handler]
) -> None:
    peer = await connect(server, peers)
    await asyncio.sleep(0.05)
    control = handlers[KNOWN].control
    assert control is not None
    control.hangup()
    await peer.wait_eof()
    assert isinstance(peer.received[-1][1], HangupFrame)
    await asyncio.wait_for(handlers[KNOWN].ended.wait(), 2)
    assert handlers[KNOWN].ends == ["local_hangup"]


async def test_a_failing_handler_ends_only_its_call(
    server: AudioSocketServer, peers: list[FakeAsterisk], handlers: dict[uuid.UUID, Handler]
) -> None:
    handlers[OTHER].fail_on_event = True
    peer = await connect(server, peers, call_id=OTHER)
    peer.stream(frames=3)
    await asyncio.wait_for(handlers[OTHER].ended.wait(), 2)
    assert handlers[OTHER].ends == ["handler_error"]
    await peer.wait_eof()


async def test_read_timeout(
    make_server: Callable[..., Any], peers: list[FakeAsterisk], handlers: dict[uuid.UUID, Handler]
) -> None:
    srv = await make_server(limits=SessionLimits(read_timeout_s=0.2))
    await connect(srv, peers)
    await asyncio.wait_for(handlers[KNOWN].ended.wait(), 2)
    assert handlers[KNOWN].ends == ["timeout"]
    await srv.stop()


async def test_stop_ends_every_session(
    make_server: Callable[..., Any], peers: list[FakeAsterisk], handlers: dict[uuid.UUID, Handler]
) -> None:
    srv = await make_server()
    first, second = await connect(srv, peers), await connect(srv, peers, call_id=OTHER)
    first.stream()
    second.stream()
    await asyncio.sleep(0.1)
    assert srv.active_sessions == 2
    await srv.stop()
    assert [h.ends for h in handlers.values()] == [["server_shutdown"], ["server_shutdown"]]
    await first.wait_eof()
    await second.wait_eof()
    assert isinstance(first.received[-1][1], HangupFrame)
    assert srv.active_sessions == 0


async def test_sockets_get_tcp_nodelay_and_sessions_are_bounded(
    make_server: Callable[..., Any], peers: list[FakeAsterisk]
) -> None:
    srv = await make_server(max_sessions=1)
    await connect(srv, peers)
    await asyncio.sleep(0.05)
    session = next(iter(srv._sessions.values()))
    sock = session._writer.get_extra_info("socket")
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    extra = await connect(srv, peers, call_id=OTHER)
    await extra.wait_eof()
    assert srv.rejected == 1
    await srv.stop()
