"""`AmiConnection` against an in-process AMI server: login, timeouts, heartbeat, reconnects."""

from __future__ import annotations

import asyncio
import logging

import pytest
from panoramisk import Manager

from telephony.ami_connection import AmiConnection, AmiState
from telephony.backoff import Backoff
from telephony.errors import (
    AmiActionFailed,
    AmiConnectionLost,
    AmiNotConnected,
    AmiTimeout,
)
from tests.helpers import free_port
from tests.kit import until
from tests.telephony.conftest import FAKE_SECRET, LogLines, fake_settings
from tests.telephony.fake_ami import FakeAmi, FakeSession, Fields

FAST = Backoff(initial_s=0.05, max_s=0.2, jitter=0.1)


def connection(port: int, **settings: object) -> AmiConnection:
    return AmiConnection(fake_settings(port, **settings), backoff=FAST, boot_wait_s=0.5)


def silent(session: FakeSession, action: Fields) -> None:
    """Receive the action and never answer it."""


async def test_connects_and_reports_state(fake_ami: FakeAmi) -> None:
    conn = connection(fake_ami.port)
    states: list[AmiState] = []
    conn.on_state(states.append)
    assert conn.state is AmiState.STOPPED
    await conn.start()
    await conn.wait_connected(5)
    assert states == [AmiState.CONNECTING, AmiState.CONNECTED]
    assert conn.sessions == 1
    pong = await conn.send({"Action": "Ping"})
    assert pong["Ping"] == "Pong"
    await conn.stop()
    assert conn.state is AmiState.STOPPED


async def test_actions_before_connecting_are_refused() -> None:
    conn = connection(free_port())
    with pytest.raises(AmiNotConnected, match="not connected"):
        await conn.send({"Action": "Ping"})


async def test_start_does_not_block_while_asterisk_is_down_and_connects_later(
    log_lines: LogLines,
) -> None:
    port = free_port()
    conn = connection(port)
    await asyncio.wait_for(conn.start(), 0.5)
    await asyncio.sleep(0.4)
    assert conn.state is AmiState.CONNECTING
    server = FakeAmi(username="opendeep", secret=FAKE_SECRET)
    await server.start(port)
    try:
        await conn.wait_connected(5)
    finally:
        await conn.stop()
        await server.stop()
    assert len(log_lines.matching("unreachable")) == 1


async def test_wrong_secret_is_logged_once_retried_and_never_shown(
    fake_ami: FakeAmi, log_lines: LogLines
) -> None:
    fake_ami.secret = "the-real-one"
    conn = connection(fake_ami.port)
    await conn.start()
    await until(lambda: fake_ami.failed_logins >= 4)
    assert conn.state is not AmiState.CONNECTED
    refused = log_lines.matching("AMI login refused")
    assert len(refused) == 1
    assert refused[0]["level"] == "error"
    assert "user 'opendeep'" in refused[0]["event"] and "AMI_SECRET" in refused[0]["event"]
    # The operator fixes the secret: the connection comes up without a restart.
    fake_ami.secret = FAKE_SECRET
    await conn.wait_connected(5)
    await conn.stop()
    assert FAKE_SECRET not in log_lines.text


async def test_a_stopping_asterisk_is_no_login_problem(
    fake_ami: FakeAmi, log_lines: LogLines
) -> None:
    """While Asterisk stops or restarts it answers every action, a login too, with "Asterisk is
    shutting down": the connection waits for it, and never tells the operator to check the
    secret."""
    refusals = 3

    def stopping(session: FakeSession, action: Fields) -> None:
        nonlocal refusals
        if refusals:
            refusals -= 1
            session.error(action, "Asterisk is shutting down")
            session.close()
            return
        del fake_ami.handlers["Login"]
        session.logged_in = True
        session.respond(action, Message="Authentication accepted")
        session.event("FullyBooted", Status="Fully Booted")

    fake_ami.handlers["Login"] = stopping
    conn = connection(fake_ami.port)
    await conn.start()
    await conn.wait_connected(5)
    await conn.stop()
    assert log_lines.matching("AMI login refused") == []
    (warned,) = log_lines.matching("unreachable")
    assert warned["level"] == "warning" and "Asterisk is shutting down" in warned["event"]


async def test_an_action_without_answer_times_out_and_is_not_sent_again(fake_ami: FakeAmi) -> None:
    fake_ami.handlers["Hangup"] = silent
    conn = connection(fake_ami.port)
    await conn.start()
    await conn.wait_connected(5)
    with pytest.raises(AmiTimeout, match=r"Hangup got no answer within 0\.2 s"):
        await conn.send({"Action": "Hangup", "Channel": "x"}, timeout_s=0.2)
    assert conn._protocol is not None and not conn._protocol.responses
    await asyncio.sleep(0.3)
    assert len(fake_ami.named("Hangup")) == 1
    await conn.stop()


async def test_an_error_response_raises(fake_ami: FakeAmi) -> None:
    fake_ami.handlers["Originate"] = lambda s, a: s.error(a, "Originate failed")
    conn = connection(fake_ami.port)
    await conn.start()
    await conn.wait_connected(5)
    with pytest.raises(AmiActionFailed, match="AMI Originate failed: Originate failed") as info:
        await conn.send({"Action": "Originate", "Channel": "Local/1@x"})
    assert info.value.message == "Originate failed"
    await conn.stop()


async def test_a_pending_originate_fails_on_disconnect_and_is_never_replayed(
    fake_ami: FakeAmi,
) -> None:
    fake_ami.handlers["Originate"] = silent
    conn = connection(fake_ami.port)
    await conn.start()
    await conn.wait_connected(5)
    pending = asyncio.create_task(
        conn.send({"Action": "Originate", "Channel": "Local/+12125550101@x"}, timeout_s=5)
    )
    await until(lambda: fake_ami.named("Originate"))
    assert fake_ami.live is not None
    fake_ami.live.abort()
    with pytest.raises(AmiConnectionLost):
        await pending
    await until(lambda: conn.sessions == 2 and conn.connected)
    await asyncio.sleep(0.5)  # FullyBooted came with the new login: panoramisk's replay point
    assert len(fake_ami.named("Originate")) == 1
    assert [str(a["Action"]) for a in fake_ami.sessions[-1].received if a["Action"] != "Ping"] == [
        "Login"
    ]
    await conn.stop()


async def test_plain_panoramisk_would_dial_twice(fake_ami: FakeAmi) -> None:
    """Why `AmiConnection` exists: panoramisk 1.4 re-sends an unanswered action on reconnect."""
    fake_ami.handlers["Originate"] = silent
    manager = Manager(
        host="127.0.0.1",
        port=fake_ami.port,
        username="opendeep",
        secret=FAKE_SECRET,
        reconnect_timeout=0,
        ping_delay=1000,
        log=logging.getLogger("test.panoramisk"),
    )
    await manager.connect()
    await until(lambda: fake_ami.logins == 1)
    manager.send_action({"Action": "Originate", "Channel": "Local/+12125550101@x"})
    await until(lambda: fake_ami.named("Originate"))
    assert fake_ami.live is not None
    fake_ami.live.abort()
    await until(lambda: len(fake_ami.named("Originate")) == 2)
    manager.connection_lost = lambda exc: None  # stop its reconnect loop
    manager.close()


async def test_an_unanswered_ping_forces_a_reconnect(
    fake_ami: FakeAmi, log_lines: LogLines
) -> None:
    conn = connection(fake_ami.port, ami_ping_interval_s=0.1, ami_action_timeout_s=0.3)
    states: list[AmiState] = []
    conn.on_state(states.append)
    await conn.start()
    await conn.wait_connected(5)
    fake_ami.answer_pings = False
    await until(lambda: AmiState.DISCONNECTED in states)
    fake_ami.answer_pings = True
    await until(lambda: conn.connected and conn.sessions == 2)
    assert states[:4] == [
        AmiState.CONNECTING,
        AmiState.CONNECTED,
        AmiState.DISCONNECTED,
        AmiState.CONNECTING,
    ]
    assert log_lines.matching("AMI heartbeat failed")
    await conn.stop()


async def test_shutdown_event_and_close_reconnect(fake_ami: FakeAmi) -> None:
    conn = connection(fake_ami.port)
    await conn.start()
    await conn.wait_connected(5)
    session = fake_ami.live
    assert session is not None
    session.event("Shutdown", Shutdown="Cleanly", Restart="True")
    await until(lambda: conn.sessions == 2 and conn.connected)
    await conn.stop()


async def test_events_reach_subscribers_as_plain_dicts(fake_ami: FakeAmi) -> None:
    conn = connection(fake_ami.port)
    got: list[dict[str, str]] = []

    def broken(event: dict[str, str]) -> None:
        raise RuntimeError("a bad subscriber")

    conn.on_event(broken)
    unsubscribe = conn.on_event(got.append)
    await conn.start()
    await conn.wait_connected(5)
    fake_ami.broadcast("Hangup", Uniqueid="abc", Linkedid="abc", Cause="16")
    await until(lambda: any(e.get("Event") == "Hangup" for e in got))
    hangup = next(e for e in got if e.get("Event") == "Hangup")
    assert type(hangup) is dict
    assert hangup == {
        "Event": "Hangup",
        "Uniqueid": "abc",
        "Linkedid": "abc",
        "Cause": "16",
    }
    unsubscribe()
    fake_ami.broadcast("Hangup", Uniqueid="def")
    await asyncio.sleep(0.1)
    assert not any(e.get("Uniqueid") == "def" for e in got)
    await conn.stop()


async def test_event_lists(fake_ami: FakeAmi) -> None:
    def channels(session: FakeSession, action: Fields) -> None:
        action_id = str(action["ActionID"])
        session.respond(action, EventList="start", Message="Channels will follow")
        for uid in ("u1", "u2"):
            session.event("CoreShowChannel", ActionID=action_id, Uniqueid=uid, ChannelState="6")
        session.event(
            "CoreShowChannelsComplete", ActionID=action_id, EventList="Complete", ListItems="2"
        )

    fake_ami.handlers["CoreShowChannels"] = channels
    conn = connection(fake_ami.port)
    await conn.start()
    await conn.wait_connected(5)
    listed = await conn.send_list({"Action": "CoreShowChannels"})
    assert [c["Uniqueid"] for c in listed] == ["u1", "u2"]
    fake_ami.handlers.pop("CoreShowChannels")
    assert await conn.send_list({"Action": "CoreShowChannels"}) == []
    await conn.stop()


async def test_without_fully_booted_it_still_connects(
    fake_ami: FakeAmi, log_lines: LogLines
) -> None:
    fake_ami.fully_booted = False
    conn = connection(fake_ami.port)
    await conn.start()
    await conn.wait_connected(5)
    assert log_lines.matching("no FullyBooted event")
    await conn.stop()


async def test_drop_reconnects(fake_ami: FakeAmi) -> None:
    conn = connection(fake_ami.port)
    await conn.start()
    await conn.wait_connected(5)
    conn.drop("test")
    await until(lambda: conn.sessions == 2 and conn.connected)
    await conn.stop()


async def test_wait_connected_times_out() -> None:
    conn = connection(free_port())
    await conn.start()
    with pytest.raises(AmiNotConnected, match=r"not connected after 0\.2 s"):
        await conn.wait_connected(0.2)
    await asyncio.wait_for(conn.stop(), 1)
