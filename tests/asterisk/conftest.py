"""Fixtures for the development PBX's smoke tests (helpers live in pbx_harness.py)."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from panoramisk import Manager
from pbx_harness import (
    ACTION_TIMEOUT,
    DEVPBX,
    PROJECT,
    SECRET_FILE,
    Ami,
    AudioSocketServer,
    DevPbx,
    serve_audiosocket_on,
)

from core.settings import load_settings


@pytest.fixture(scope="session")
def devpbx() -> DevPbx:
    """`asterisk/devpbx up` (fast when the root is cached and Asterisk runs), then its env."""
    if os.geteuid() != 0:
        pytest.skip("the development PBX needs root (asterisk/devpbx builds a chroot)")
    env = {**os.environ, "PYTHON": sys.executable}
    up = subprocess.run(
        [str(DEVPBX), "up"], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900
    )
    if up.returncode != 0:
        pytest.fail(f"asterisk/devpbx up failed:\n{up.stdout}\n{up.stderr}")
    out = subprocess.run(
        [str(DEVPBX), "env"], cwd=PROJECT, capture_output=True, text=True, timeout=30, check=True
    ).stdout
    exports = dict(
        shlex.split(line.removeprefix("export "))[0].split("=", 1)
        for line in out.splitlines()
        if line.startswith("export ")
    )
    secret = load_settings().ami_secret.get_secret_value() or SECRET_FILE.read_text().strip()
    return DevPbx(
        ami_host=exports["AMI_HOST"],
        ami_port=int(exports["AMI_PORT"]),
        ami_username=exports["AMI_USERNAME"],
        ami_secret=secret,
        spool=Path(exports["DEVPBX_SPOOL"]),
    )


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
