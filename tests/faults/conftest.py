"""Fixtures of the fault tests: a running node on the development PBX (`FaultRig`), and the
figures of the run, tabled at its end."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agents.call_agent.rehearsal import script_selector
from app.node import Node, PartsWanted
from app.rehearsal import node_settings
from core.db import Database
from media.realtime_server import RealtimeTestServer, Script
from media.realtime_server.responses import SimOptions
from telephony.ami_connection import AmiConnection
from telephony.backoff import Backoff
from tests.faults.figures import FigureLog
from tests.faults.rig import CAMPAIGN, QUICK, FaultRig
from tests.kit.devpbx import DevPbx
from tests.telephony.asterisk_rig import EventLog

_LOG = FigureLog()


@pytest.fixture(scope="session")
def figure_log() -> FigureLog:
    return _LOG


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _LOG.rows:
        terminalreporter.write_sep("=", "fault figures (read back from the database)")
        for line in _LOG.table():
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"(appended to {_LOG.path})")


@pytest.fixture
async def rig(db: Database, devpbx: DevPbx, figure_log: FigureLog) -> AsyncIterator[FaultRig]:
    """A started node calling the development PBX, with the rehearsal agents and the local
    Realtime-protocol server (twice real time) as its voice, and the test's own AMI session."""
    async with RealtimeTestServer(
        Script(responses=[]),
        options=SimOptions(realtime_factor=2.0),
        select_script=script_selector(),
    ) as voice:
        settings = node_settings(devpbx.settings, voice.url).model_copy(
            update={
                "database_url": db.url,
                "max_concurrent_calls": len(CAMPAIGN),
                "recordings_dir": devpbx.spool / "recordings",
            }
        )
        observer = AmiConnection(settings, backoff=Backoff(initial_s=0.1, max_s=0.5, jitter=0))
        events = EventLog()
        observer.on_event(events.append)
        node = Node(
            settings,
            db,
            PartsWanted(ui=False),
            retry=QUICK,
            ring_timeout_s=6,
            safety_interval_s=0.5,
            lifecycle_interval_s=3600,
        )
        async with db.users() as users:
            user_id = await users.add("owner", "owner-password-1", display_name="Alex Morgan")
        try:
            await observer.start()
            await observer.wait_connected(30)
            await node.start()
            assert node.telephony is not None
            await node.telephony.ami.wait_connected(30)
            yield FaultRig(node, db, user_id, observer, events, figure_log, voice)
        finally:
            await node.stop()
            await observer.stop()
