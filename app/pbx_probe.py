"""The doctor's look at a PBX: one AMI session as OpenDeep's own user, a short test call into
`[opendeep-doctor]`, and a listener of the doctor's own that the call's AudioSocket must reach.
What it finds is judged by `app.pbx_checks`, which holds no I/O.

The test call never leaves the PBX: `Local/probe@opendeep-doctor` answers itself, the other half
runs a short AMD, records a moment and runs AudioSocket to the doctor's listener on
AUDIOSOCKET_HOST:AUDIOSOCKET_PORT (another port when a running node holds that one), which reads
the call's UUID and hangs up; then it reports how each application went in a UserEvent. Every
wait is bounded; the listener lives only for the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.checks import Check
from app.pbx_checks import (
    DOCTOR_CONTEXT,
    DOCTOR_MODULES,
    MODULES,
    Contact,
    Dialplan,
    PbxFacts,
    Probe,
    Recordings,
    Trunk,
    check_login,
    judge,
    privileges,
    registrations_of,
)
from core.settings import Settings
from media.audiosocket_codec import (
    AudioSocketParser,
    AudioSocketProtocolError,
    UuidFrame,
    encode_hangup,
)
from media.audiosocket_server import peer_allowed
from telephony.ami_connection import AmiConnection
from telephony.ami_panoramisk import AmiMessage
from telephony.errors import AmiActionFailed, AmiError
from telephony.pbx_config import dialplan_version
from telephony.pbx_install import OPENDEEP_CONTEXTS

PROBE_TIMEOUT_S = 10.0  # the test call, from the Originate to its hang-up
RECORDING_WAIT_S = 3.0  # MixMonitor closes its file a moment after the hang-up
HANGUP_GRACE_S = 2.0  # after the listener hung up, the call's Hangup event is this close
LOGIN_BOOT_WAIT_S = 2.0  # FullyBooted comes at once after a login with `read = system`
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


async def check_pbx(settings: Settings) -> list[Check]:
    """Log in as OpenDeep's AMI user (the first check says how that went) and check its
    permissions, OpenDeep's contexts, the modules, the trunk, AudioSocket from the PBX and the
    recordings folder."""
    where = f"{settings.ami_host}:{settings.ami_port}"
    events: list[AmiMessage] = []
    ami = AmiConnection(settings, boot_wait_s=LOGIN_BOOT_WAIT_S)
    ami.on_event(events.append)
    await ami.start()
    try:
        problem = await _log_in(ami, settings.ami_action_timeout_s + LOGIN_BOOT_WAIT_S)
        login = check_login(where, settings.ami_username, problem)
        if problem is not None:
            return [login]
        try:
            return [login, *await _examine(ami, settings, events)]
        except AmiError as exc:
            return [login, Check("AMI login", "fail", f"the AMI session failed: {exc}")]
    finally:
        await ami.stop()


async def _log_in(ami: AmiConnection, timeout_s: float) -> str | None:
    """None once logged in, else why not ("login refused", …)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not ami.connected:
        if ami.problem is not None:
            return ami.problem
        if loop.time() > deadline:
            return f"no answer to the login within {timeout_s:g} s"
        await asyncio.sleep(0.05)
    return None


async def _examine(ami: AmiConnection, settings: Settings, events: list[AmiMessage]) -> list[Check]:
    booted = any(e.get("Event") == "FullyBooted" for e in events)
    permitted = privileges(await ami.send({"Action": "ListCommands"}))
    plan = await _dialplan(ami) if "ShowDialPlan" in permitted else None
    loaded: dict[str, bool | None] | None = None
    trunk: Trunk | None = None
    trunk_name = (plan.trunk if plan else None) or settings.pbx_trunk
    if "Getvar" in permitted:
        loaded = {m: await _module(ami, m) for m in (*DOCTOR_MODULES, *MODULES)}
        if _NAME.match(trunk_name):
            registrations = "PJSIPShowRegistrationsOutbound" in permitted
            trunk = await _trunk(ami, trunk_name, registrations=registrations)
    skipped = _probe_impossible(plan, permitted)
    probe = await _probe(ami, settings, events) if skipped is None else None
    recorded = probe is not None and (probe.report or {}).get("MixMonitor") == "SUCCESS"
    pbx_file = plan.doctor_recording(probe.expected_uuid) if plan and probe and recorded else None
    facts = PbxFacts(
        permitted=permitted,
        booted=booted,
        plan=plan,
        loaded=loaded,
        trunk_name=trunk_name,
        trunk=trunk,
        probe=probe,
        probe_skipped=skipped or "",
        recordings=await _recordings(settings.recordings_dir, pbx_file),
    )
    return judge(
        facts,
        expected_version=dialplan_version(),
        pbx_trunk=settings.pbx_trunk,
        port=settings.audiosocket_port,
        pbx_host=settings.ami_host,
        workers=settings.effective_media_workers,
    )


def _probe_impossible(plan: Dialplan | None, permitted: dict[str, frozenset[str]]) -> str | None:
    if plan is None or DOCTOR_CONTEXT not in plan.contexts:
        return f"the test call needs the context {DOCTOR_CONTEXT} (see dialplan)"
    if "Originate" not in permitted:
        return "the AMI user may not originate the test call"
    return None


# --- reading -------------------------------------------------------------------------------


async def _dialplan(ami: AmiConnection) -> Dialplan:
    contexts = {}
    for name in OPENDEEP_CONTEXTS:
        try:
            entries = await ami.send_list({"Action": "ShowDialPlan", "Context": name})
        except AmiActionFailed:
            continue  # "Did not find context …"
        contexts[name] = [e for e in entries if e.get("Event") == "ListDialplan"]
    return Dialplan(contexts)


async def _getvar(ami: AmiConnection, expression: str) -> str | None:
    reply = await ami.send({"Action": "Getvar", "Variable": expression})
    return reply.get("Value")


async def _module(ami: AmiConnection, module: str) -> bool | None:
    value = await _getvar(ami, f"IFMODULE({module})")
    return None if value is None else value.strip() == "1"


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


async def _trunk(ami: AmiConnection, name: str, *, registrations: bool) -> Trunk:
    aors = _split(await _getvar(ami, f"PJSIP_ENDPOINT({name},aors)"))
    contacts = []
    for aor in aors:
        frequency = (await _getvar(ami, f"PJSIP_AOR({aor},qualify_frequency)") or "").strip()
        for contact in _split(await _getvar(ami, f"PJSIP_AOR({aor},contact)")):
            contacts.append(
                Contact(
                    aor=aor,
                    uri=await _getvar(ami, f"PJSIP_CONTACT({contact},uri)") or contact,
                    status=await _getvar(ami, f"PJSIP_CONTACT({contact},status)") or "Unknown",
                    qualify_frequency=int(frequency) if frequency.isdigit() else 0,
                )
            )
    found: dict[str, str] = {}
    if registrations:
        found = registrations_of(
            name, await ami.send_list({"Action": "PJSIPShowRegistrationsOutbound"})
        )
    return Trunk(name, tuple(aors), tuple(contacts), found)


# --- the test call -------------------------------------------------------------------------


def probe_action(call_uuid: str, audiosocket: str) -> dict[str, str | list[str]]:
    """The Originate of the doctor's test call (`[opendeep-doctor]` explains it)."""
    return {
        "Action": "Originate",
        "Channel": f"Local/probe@{DOCTOR_CONTEXT}",
        "Context": DOCTOR_CONTEXT,
        "Exten": "s",
        "Priority": "1",
        "ChannelId": call_uuid,
        "Async": "true",
        "Timeout": "5000",
        "Variable": [
            f"CALL_UUID={call_uuid}",
            f"OPENDEEP_AUDIOSOCKET={audiosocket}",
        ],
    }


@dataclass
class _Listener:
    """Accepts the test call's AudioSocket connection: notes the peer and the UUID, hangs up."""

    allowed: Callable[[str], bool]
    peer: str | None = None
    uuid: str | None = None
    allowed_peer: bool = True
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)
        parser = AudioSocketParser()
        try:
            async with asyncio.timeout(3):
                while self.uuid is None:
                    data = await reader.read(4096)
                    if not data:
                        break
                    for frame in parser.feed(data):
                        if isinstance(frame, UuidFrame):
                            self.uuid = str(frame.value)
            writer.write(encode_hangup())
            await writer.drain()
        except (TimeoutError, AudioSocketProtocolError, ConnectionError):
            pass
        finally:
            if self.peer is None:
                self.peer, self.allowed_peer = address, self.allowed(address)
                self.done.set()
            writer.close()


async def _listen(settings: Settings, listener: _Listener) -> tuple[asyncio.Server, Settings, bool]:
    """Serve on AUDIOSOCKET_HOST:AUDIOSOCKET_PORT, or on a spare port when that one is taken;
    returns the server, the settings with the port in use, and whether it is a spare one."""
    host = settings.audiosocket_host
    try:
        server = await asyncio.start_server(listener.handle, host, settings.audiosocket_port)
        return server, settings, False
    except OSError:
        server = await asyncio.start_server(listener.handle, host, 0)
    port = server.sockets[0].getsockname()[1]
    return server, settings.model_copy(update={"audiosocket_port": port}), True


async def _probe(ami: AmiConnection, settings: Settings, events: list[AmiMessage]) -> Probe:
    call_uuid = str(uuid.uuid4())
    networks = settings.audiosocket_allowed_networks
    listener = _Listener(allowed=lambda address: peer_allowed(address, networks))
    server, serving, spare = await _listen(settings, listener)
    address = serving.audiosocket_address
    seen = len(events)
    try:
        try:
            await ami.send(probe_action(call_uuid, address))
        except AmiActionFailed as exc:
            return Probe(address, call_uuid, refused=exc.message or "no reason given")
        ended = await _until_ended(events, seen, call_uuid, listener)
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)
    mine = [e for e in events[seen:] if _about(e, call_uuid)]
    reports = [e for e in mine if e.get("Event") == "UserEvent"]
    return Probe(
        address=address,
        expected_uuid=call_uuid,
        report=reports[-1] if reports else None,
        call_events=any(e.get("Event") != "UserEvent" for e in mine),
        ended=ended,
        peer=listener.peer,
        uuid=listener.uuid,
        peer_allowed=listener.allowed_peer,
        spare_port=spare,
    )


def _about(event: AmiMessage, call_uuid: str) -> bool:
    if event.get("Event") == "UserEvent":
        return event.get("UserEvent") == "OpenDeepDoctor" and event.get("CallUUID") == call_uuid
    return call_uuid in (event.get("Uniqueid"), event.get("Linkedid"))


async def _until_ended(
    events: list[AmiMessage], seen: int, call_uuid: str, listener: _Listener
) -> bool:
    """Wait (bounded) for the test call's Hangup event; True when it came. Without `read =
    call` none comes: once the listener was reached or the call reported, a moment will do."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PROBE_TIMEOUT_S
    last_word: float | None = None
    while loop.time() < deadline:
        mine = [e for e in events[seen:] if _about(e, call_uuid)]
        if any(e.get("Event") == "Hangup" and e.get("Uniqueid") == call_uuid for e in mine):
            return True
        if listener.done.is_set() or any(e.get("Event") == "UserEvent" for e in mine):
            last_word = last_word or loop.time()
            if loop.time() - last_word > HANGUP_GRACE_S:
                return False
        await asyncio.sleep(0.05)
    return False


async def _recordings(folder: Path, pbx_file: str | None) -> Recordings:
    return await asyncio.to_thread(_look_for_recording, folder, pbx_file)


def _look_for_recording(folder: Path, pbx_file: str | None) -> Recordings:
    exists = folder.is_dir()
    readable = exists and os.access(folder, os.R_OK | os.X_OK)
    if not readable or pbx_file is None:
        return Recordings(folder, exists, readable)
    here = folder / Path(pbx_file).name
    deadline = time.monotonic() + RECORDING_WAIT_S
    while not here.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    arrived = here.exists()
    if arrived:
        with contextlib.suppress(OSError):
            here.unlink()  # a mount may be read-only: then the small file stays
    return Recordings(folder, exists, readable, pbx_file, arrived)
