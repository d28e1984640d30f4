"""Who the AudioSocket server serves: the allowed PBX addresses only, and of their connections
only those for a call the node is placing right now. Real TCP on loopback; a peer that is not
allowed is made by leaving 127.0.0.1 out of the allowed list."""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from collections.abc import AsyncIterator

import pytest
from structlog.testing import capture_logs

from agents.call_agent import call_script
from core.db import Database
from core.settings import Settings
from media.audiosocket_codec import HangupFrame
from media.audiosocket_server import LOOPBACK, AudioSocketServer, Network, peer_allowed
from media.bridge_registry import BridgeRegistry, MediaPart
from media.expected_calls import ExpectedCalls
from media.playout import PlayoutBuffer
from media.session import EndReason, SessionControl, SessionEvent, SessionHandler
from tests.helpers import free_port
from tests.kit import until
from tests.media.fake_asterisk import FakeAsterisk

CALL = uuid.UUID("11111111-2222-4333-8444-555555555555")
STRANGER = uuid.UUID("66666666-7777-4888-9999-000000000000")


def nets(*entries: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


@pytest.mark.parametrize(
    ("address", "allowed", "expected"),
    [
        ("127.0.0.1", LOOPBACK, True),
        ("127.8.9.10", LOOPBACK, True),
        ("::1", LOOPBACK, True),
        ("10.0.0.5", LOOPBACK, False),
        ("::2", LOOPBACK, False),
        ("192.168.1.20", nets("192.168.1.20"), True),
        ("192.168.1.21", nets("192.168.1.20"), False),
        ("192.168.1.21", nets("192.168.1.0/24"), True),
        ("192.168.2.1", nets("192.168.1.0/24"), False),
        # an IPv4 PBX reaching a dual-stack socket is judged by its IPv4 address
        ("::ffff:192.168.1.20", nets("192.168.1.20"), True),
        ("::ffff:10.0.0.1", nets("192.168.1.20"), False),
        ("::ffff:127.0.0.1", LOOPBACK, True),
        ("fd00::7", nets("fd00::/8"), True),
        ("fe80::1%eth0", nets("fe80::/10"), True),
        ("fd00::7", nets("10.0.0.0/8"), False),
        ("10.0.0.5", nets("fd00::/8"), False),
        ("anything", LOOPBACK, False),
        ("", LOOPBACK, False),
        ("127.0.0.1", (), False),
    ],
)
def test_peer_allowed(address: str, allowed: tuple[Network, ...], expected: bool) -> None:
    assert peer_allowed(address, allowed) is expected


class Handler:
    def __init__(self) -> None:
        self.playout = PlayoutBuffer()
        self.ends: list[EndReason] = []

    async def on_start(self, control: SessionControl) -> None:
        pass

    async def on_event(self, event: SessionEvent) -> None:
        pass

    async def on_end(self, reason: EndReason) -> None:
        self.ends.append(reason)


class Resolver:
    """Stands for the registry's look-up: records every UUID it is asked about."""

    def __init__(self) -> None:
        self.asked: list[uuid.UUID] = []
        self.handler = Handler()

    async def __call__(self, call_uuid: uuid.UUID) -> SessionHandler | None:
        self.asked.append(call_uuid)
        return self.handler


@pytest.fixture
async def peers() -> AsyncIterator[list[FakeAsterisk]]:
    made: list[FakeAsterisk] = []
    yield made
    for peer in made:
        await peer.close()


async def connect(port: int, peers: list[FakeAsterisk], call_id: uuid.UUID = CALL) -> FakeAsterisk:
    peer = FakeAsterisk(port, call_id)
    peers.append(peer)
    await peer.connect()
    return peer


async def test_a_peer_not_allowed_is_closed_at_once_without_a_frame_or_a_look_up(
    peers: list[FakeAsterisk],
) -> None:
    resolve = Resolver()
    server = AudioSocketServer(resolve, allowed_peers=nets("10.0.0.0/8", "::1"))
    async with server:
        with capture_logs() as logs:
            peer = await connect(server.port, peers)
            await peer.wait_eof(timeout=2)
        assert peer.received == []  # not even the silence every served call gets at once
        assert resolve.asked == []
        assert server.refused_peers == 1 and server.active_sessions == 0
    assert {"event": "audiosocket.peer_refused", "peer": "127.0.0.1"}.items() <= logs[0].items()


async def test_an_allowed_peer_is_served(peers: list[FakeAsterisk]) -> None:
    resolve = Resolver()
    async with AudioSocketServer(resolve, allowed_peers=nets("127.0.0.1")) as server:
        peer = await connect(server.port, peers)
        await peer.wait_frames(3)
        await until(lambda: resolve.asked, 2, "the call to be looked up")
        assert resolve.asked == [CALL] and server.refused_peers == 0


async def test_only_an_expected_call_is_looked_up_and_only_once(
    peers: list[FakeAsterisk],
) -> None:
    resolve = Resolver()
    expected = ExpectedCalls()
    expected.expect(str(CALL))
    async with AudioSocketServer(expected.guard(resolve)) as server:
        with capture_logs() as logs:
            stranger = await connect(server.port, peers, STRANGER)
            await stranger.wait_eof(timeout=2)
        assert isinstance(stranger.received[-1][1], HangupFrame)
        assert resolve.asked == []
        assert any(
            e["event"] == "audiosocket.unexpected_call" and e["call_id"] == str(STRANGER)
            for e in logs
        )

        call = await connect(server.port, peers)
        await until(lambda: resolve.asked, 2, "the expected call to be looked up")
        assert resolve.asked == [CALL] and CALL not in expected

        # The same UUID again (a replay while the call is up) is not served a second time.
        replay = await connect(server.port, peers)
        await replay.wait_eof(timeout=2)
        assert resolve.asked == [CALL]
        assert not call.eof.is_set()


def test_expectations_are_forgotten() -> None:
    expected = ExpectedCalls()
    expected.expect(str(CALL))
    expected.expect(STRANGER)
    expected.forget(str(STRANGER))
    assert CALL in expected and STRANGER not in expected and len(expected) == 1
    assert expected.take(CALL) and not expected.take(CALL)


async def test_the_media_part_serves_the_configured_peers_and_expected_calls_only(
    db: Database, peers: list[FakeAsterisk]
) -> None:
    looked_up: list[uuid.UUID] = []

    async def find_call(db: Database, settings: Settings, call_uuid: uuid.UUID) -> None:
        looked_up.append(call_uuid)
        return None

    port = free_port()
    settings = Settings(audiosocket_port=port, realtime_url="ws://127.0.0.1:9/v1")
    part = MediaPart(
        settings, BridgeRegistry(db, settings, script=call_script, find_call=find_call)
    )
    await part.start()
    try:
        unexpected = await connect(port, peers, STRANGER)
        await unexpected.wait_eof(timeout=2)
        assert looked_up == []  # the database is not asked about a call nobody placed
        part.registry.expect(str(CALL))
        expected = await connect(port, peers, CALL)
        await expected.wait_eof(timeout=2)  # no calls row in this test: hung up after the look-up
        assert looked_up == [CALL]
    finally:
        await part.stop()

    elsewhere = Settings(
        audiosocket_port=free_port(),
        audiosocket_allowed_peers="192.0.2.10",
        realtime_url="ws://127.0.0.1:9/v1",
    )
    part = MediaPart(elsewhere, BridgeRegistry(db, elsewhere, script=call_script))
    part.registry.expect(str(CALL))
    await part.start()
    try:
        refused = await connect(elsewhere.audiosocket_port, peers, CALL)
        await refused.wait_eof(timeout=2)
        assert refused.received == [] and looked_up == [CALL]
        assert part.registry.expected.take(CALL)  # still expected: never got as far as a look-up
    finally:
        await part.stop()


async def test_every_connection_of_a_refused_peer_is_counted(peers: list[FakeAsterisk]) -> None:
    async with AudioSocketServer(Resolver(), allowed_peers=nets("192.0.2.0/24")) as server:
        for _ in range(3):
            peer = await connect(server.port, peers)
            await peer.wait_eof(timeout=2)
        await asyncio.sleep(0)
        assert server.refused_peers == 3
