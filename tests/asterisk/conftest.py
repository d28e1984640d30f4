"""Fixtures for the development PBX's smoke tests (helpers live in pbx_harness.py; the
`devpbx` fixture, which decides whether the PBX can be used, in tests/conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from panoramisk import Manager
from pbx_harness import ACTION_TIMEOUT, Ami, AudioSocketServer, serve_audiosocket_on

from tests.kit.devpbx import DevPbx


@pytest.fixture
async def ami(devpbx: DevPbx) -> AsyncIterator[Ami]:
    manager = Manager(
        host=devpbx.ami_host,
        port=devpbx.ami_port,
        username=devpbx.ami_username,
        secret=devpbx.ami_secret,
        ping_delay=60,
        loop=asyncio.get_running_loop(),
    )
    session = Ami(manager)
    manager.register_event("*", session._on_event)
    try:
        await asyncio.wait_for(manager.connect(), ACTION_TIMEOUT)
        assert manager.authenticated_future is not None
        login = await asyncio.wait_for(manager.authenticated_future, ACTION_TIMEOUT)
        assert login.success, f"AMI login refused: {login}"
        yield session
    finally:
        manager.close()


@pytest.fixture
def serve_audiosocket() -> AudioSocketServer:
    """`async with serve_audiosocket(host, port) as (peer, "host:port")`: one AudioSocket
    server for the test (port 0: any free port, passed to the call as OPENDEEP_AUDIOSOCKET)."""
    return serve_audiosocket_on
