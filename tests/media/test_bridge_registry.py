"""The media part owns what its bridges share: started with it, closed with it."""

from __future__ import annotations

from agents.call_agent import call_script
from core.db import Database
from core.settings import Settings
from media.bridge_registry import BridgeRegistry, MediaPart
from tests.helpers import free_port


async def test_the_shared_writer_and_sdk_client_live_as_long_as_the_part(db: Database) -> None:
    settings = Settings(audiosocket_port=free_port(), realtime_url="ws://127.0.0.1:9/v1")
    part = MediaPart(settings, BridgeRegistry(db, settings, script=call_script))
    registry = part.registry
    clients = registry._own_clients
    assert clients is not None  # no factory given: the registry makes (and owns) one
    await part.start()
    try:
        assert registry._transcripts.running
        first, second = clients(), clients()
        assert first._shared_sdk is not None and second._shared_sdk is not None
        sdk = clients._shared_sdk()
        assert clients._shared_sdk() is sdk
    finally:
        await part.stop()
    assert not registry._transcripts.running
    assert sdk.is_closed()
