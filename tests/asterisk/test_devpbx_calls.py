"""Smoke tests of the development PBX over AMI (panoramisk), one per kind of simulated callee.

Each call is originated as the telephony layer does it: `Local/<number>@opendeep-outbound`
into [opendeep-agent], over the real SIP loopback trunk to [opendeep-sim-callees].
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from panoramisk.message import Message
from pbx_harness import Ami, AudioSocketServer

from core.settings import load_settings
from tests.kit import until
from tests.kit.devpbx import DEVPBX, PROJECT, DevPbx

pytestmark = pytest.mark.asterisk

HUMAN, BUSY, NO_ANSWER, CONGESTION, VOICEMAIL, IVR, HANG_UP_AT_ONCE = (
    "+12125550101",
    "+12125550102",
    "+12125550103",
    "+12125550104",
    "+12125550105",
    "+12125550106",
    "+12125550107",
)


def _user_event(name: str, call_uuid: str, **headers: str) -> Callable[[Message], bool]:
    def match(event: Message) -> bool:
        return (
            event.event == "UserEvent"
            and event.get("UserEvent") == name
            and event.get("CallUUID") == call_uuid
            and all(event.get(k) == v for k, v in headers.items())
        )

    return match


async def test_login_and_ping(ami: Ami) -> None:
    pong = await ami.action({"Action": "Ping"})
    assert not isinstance(pong, list)
    assert pong.success


@pytest.mark.parametrize(
    ("number", "cause", "dial_status"),
    [
        pytest.param(BUSY, "17", "BUSY", id="busy"),
        pytest.param(CONGESTION, "34", "CONGESTION", id="congestion"),
        pytest.param(NO_ANSWER, "19", "NOANSWER", id="no-answer"),
        # 404 from the far end: the cause passes through (Dial's DialEnd says NOANSWER).
        pytest.param("+12125550199", "1", None, id="unallocated"),
    ],
)
async def test_unanswered_call_ends_with_its_cause(
    ami: Ami, number: str, cause: str, dial_status: str | None
) -> None:
    call = await ami.originate(number, ring_timeout=2)
    assert call.response.get("Response") == "Failure"
    assert call.response.get("Uniqueid") == call.call_uuid
    hangup = await ami.wait_event(
        lambda e: e.event == "Hangup" and e.get("Uniqueid") == call.call_uuid, timeout=10
    )
    assert hangup.get("Cause") == cause, hangup
    if dial_status is not None:
        # The ;2 half dialed the trunk; its Uniqueid is the ChannelId plus ";2".
        dial_end = await ami.wait_event(
            lambda e: e.event == "DialEnd" and e.get("Uniqueid") == f"{call.call_uuid};2",
            timeout=5,
        )
        assert dial_end.get("DialStatus") == dial_status


async def test_human_answers_amd_says_human_and_audiosocket_connects(
    ami: Ami, devpbx: DevPbx, serve_audiosocket: AudioSocketServer
) -> None:
    async with serve_audiosocket() as (peer, address):
        call = await ami.originate(HUMAN, recording=True, audiosocket=address)
        try:
            assert call.response.get("Response") == "Success", call.response
            assert call.response.get("Reason") == "4"  # answered
            assert call.response.get("Uniqueid") == call.call_uuid
            assert call.channel.startswith(f"Local/{HUMAN}@opendeep-outbound-")
            assert call.channel.endswith(";1")

            callee = await ami.wait_event(_user_event("SimCallee", call.call_uuid), timeout=5)
            assert callee.get("Number") == HUMAN
            amd = await ami.wait_event(_user_event("OpenDeepAMD", call.call_uuid), timeout=6)
            assert amd.get("Status") == "HUMAN", amd
            recording = await ami.wait_event(
                _user_event("OpenDeepRecording", call.call_uuid), timeout=2
            )
            assert recording.get("File") == f"/var/spool/asterisk/recordings/{call.call_uuid}.wav"

            await asyncio.wait_for(peer.connected.wait(), 3)
            assert peer.first_frame == (0x01, uuid.UUID(call.call_uuid).bytes)
            # The callee's audio flows: 320-byte slin frames, ~50 a second.
            await until(
                lambda: peer.audio_frames >= 25, 3, "the callee's audio frames (~50 a second)"
            )
        finally:
            await ami.hang_up(call)
        await asyncio.wait_for(peer.closed.wait(), 3)

    recorded = devpbx.spool / "recordings" / f"{call.call_uuid}.wav"
    # MixMonitor finishes the file just after the hangup.
    await until(
        lambda: recorded.exists() and recorded.stat().st_size > 44, 2, f"a recording {recorded}"
    )
    heard = devpbx.spool / "callee" / Path(str(callee.get("HeardFile"))).name
    assert heard.exists()


async def test_default_audiosocket_address_from_settings(
    ami: Ami, serve_audiosocket: AudioSocketServer
) -> None:
    settings = load_settings()
    async with contextlib.AsyncExitStack() as stack:
        try:
            peer, _ = await stack.enter_async_context(
                serve_audiosocket(settings.audiosocket_host, settings.audiosocket_port)
            )
        except OSError:
            pytest.skip(f"AudioSocket port {settings.audiosocket_port} is in use (a running app?)")
        call = await ami.originate(HUMAN)
        try:
            await asyncio.wait_for(peer.connected.wait(), 6)
            assert peer.first_frame == (0x01, uuid.UUID(call.call_uuid).bytes)
        finally:
            await ami.hang_up(call)


@pytest.mark.parametrize(("digit", "route"), [("1", "appointments"), ("2", "billing")])
async def test_ivr_routes_dtmf_played_on_the_agent_channel(
    ami: Ami, serve_audiosocket: AudioSocketServer, digit: str, route: str
) -> None:
    async with serve_audiosocket() as (peer, address):
        call = await ami.originate(IVR, audiosocket=address)
        try:
            assert call.response.get("Reason") == "4"
            await asyncio.wait_for(peer.connected.wait(), 6)
            played = await ami.action(
                {"Action": "PlayDTMF", "Channel": call.channel, "Digit": digit, "Duration": "250"}
            )
            assert not isinstance(played, list)
            assert played.success, played
            routed = await ami.wait_event(
                _user_event("SimIVR", call.call_uuid, Digit=digit), timeout=5
            )
            assert routed.get("Route") == route
            assert routed.get("Number") == IVR
        finally:
            await ami.hang_up(call)


async def test_voicemail_is_detected_as_a_machine(
    ami: Ami, serve_audiosocket: AudioSocketServer
) -> None:
    async with serve_audiosocket() as (_peer, address):
        call = await ami.originate(VOICEMAIL, audiosocket=address)
        try:
            assert call.response.get("Reason") == "4"
            amd = await ami.wait_event(_user_event("OpenDeepAMD", call.call_uuid), timeout=6)
            assert amd.get("Status") == "MACHINE", amd
            assert str(amd.get("Cause")).startswith(("LONGGREETING", "MAXWORDS"))
            message = await ami.wait_event(_user_event("SimVoicemail", call.call_uuid), timeout=10)
            assert str(message.get("MessageFile")).endswith("-message.wav")
        finally:
            await ami.hang_up(call)


async def test_callee_that_hangs_up_at_once(ami: Ami) -> None:
    call = await ami.originate(HANG_UP_AT_ONCE)
    assert call.response.get("Reason") == "4"
    hangup = await ami.wait_event(
        lambda e: e.event == "Hangup" and e.get("Uniqueid") == call.call_uuid, timeout=5
    )
    assert hangup.get("Cause") == "16"


def test_devpbx_refuses_to_build_without_root(devpbx: DevPbx, tmp_path: Path) -> None:
    setpriv = "/usr/bin/setpriv"
    if not os.path.exists(setpriv):
        pytest.skip("setpriv (util-linux) is not installed")
    result = subprocess.run(
        [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "bash", str(DEVPBX), "up"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "devpbx needs root" in result.stderr


def test_devpbx_env_and_status(devpbx: DevPbx) -> None:
    env = subprocess.run(
        [str(DEVPBX), "env"], cwd=PROJECT, capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert f"export DEVPBX_SPOOL={devpbx.spool}" in env
    assert devpbx.ami_secret not in env
    status = subprocess.run(
        [str(DEVPBX), "status"], capture_output=True, text=True, timeout=30, check=False
    )
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.startswith("devpbx: running")
    assert "Asterisk 22." in status.stdout
