"""OpenDeep on someone else's Asterisk: `opendeep pbx install` into a PBX with a plain
configuration of its own (foreign_pbx.py), the reload, `opendeep doctor` green, a call placed
through the installed trunk and talked through, and then faults made one at a time — each named
by the doctor with its fix, and mended again.

Ports: FOREIGN_PBX_AMI_PORT, FOREIGN_PBX_SIP_PORT (foreign_pbx.py) and, for the doctor's
AudioSocket listener, FOREIGN_PBX_AUDIOSOCKET_PORT (default: a free port).
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from foreign_pbx import ForeignPbx, ForeignPbxError
from pydantic import SecretStr

from agents.call_agent.rehearsal import script_selector
from agents.schemas import CampaignPlan, Target
from app.checks import Check, render
from app.node import Node, PartsWanted
from app.pbx_probe import check_pbx
from app.rehearsal import node_settings
from core.db import Database
from core.db.migrate import upgrade
from core.db.models import Call, CallState
from core.ports import free_port
from core.settings import Settings
from media.realtime_server import RealtimeTestServer, Say, Script, ScriptedResponse
from media.realtime_server.responses import SimOptions
from tests.integration.scheduling import dispatching
from tests.kit import until
from tests.kit.devpbx import require_pbx_root, unavailable

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

TRUNK = "carrier"
DEAD_SIP_PORT = 5  # nothing answers SIP there
PBX_CHECKS = (
    "AMI login",
    "AMI permissions",
    "dialplan",
    "modules",
    "trunk",
    "audiosocket from the PBX",
    "recordings",
)


@dataclass
class Installed:
    pbx: ForeignPbx
    settings: Settings  # OpenDeep's, reaching the foreign PBX
    home: Path  # OpenDeep's working folder

    def opendeep(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The `opendeep` command, run as its user would, with the settings in its environment."""
        s = self.settings
        env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
        env |= {
            "AMI_PORT": str(s.ami_port),
            "AMI_SECRET": s.ami_secret.get_secret_value(),
            "PBX_TRUNK": s.pbx_trunk,
            "PBX_EXTERNAL": "true",
            "AUDIOSOCKET_PORT": str(s.audiosocket_port),
            "RECORDINGS_DIR": str(s.recordings_dir),
            "DATABASE_URL": s.database_url,
        }
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=self.home,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def install(self, sip_server: str) -> None:
        result = self.opendeep(
            "pbx",
            "install",
            "--dest",
            str(self.pbx.etc),
            "--opendeep-address",
            "127.0.0.1",
            "--trunk",
            "ip",
            "--sip-server",
            sip_server,
            "--sip-match",
            "127.0.0.1",
            "--inbound-context",
            "from-carrier",
            "--spool-dir",
            self.pbx.spool,
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = require_pbx_root()
    pbx = ForeignPbx(root, f"/tmp/opendeep-foreign-{uuid.uuid4().hex[:8]}")
    pbx.write_config()
    try:
        pbx.start()
    except ForeignPbxError as exc:
        pbx.remove()
        unavailable(f"the foreign Asterisk did not start: {exc}")
    home = tmp_path_factory.mktemp("opendeep")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        ami_port=pbx.ami_port,
        ami_secret=secrets.token_urlsafe(16),  # type: ignore[arg-type]
        pbx_trunk=TRUNK,
        pbx_external=True,
        audiosocket_port=int(os.environ.get("FOREIGN_PBX_AUDIOSOCKET_PORT") or free_port()),
        recordings_dir=pbx.recordings,
        database_url=f"sqlite+aiosqlite:///{home / 'opendeep.db'}",
    )
    it = Installed(pbx, settings, home)
    try:
        it.install(f"127.0.0.1:{pbx.sip_port}")
        # What the install asks the owner to add, once, at the end of their own files.
        for name in ("extensions", "manager", "pjsip"):
            pbx.add_line(f"{name}.conf", f"#include opendeep_{name}.conf")
        pbx.cli("core reload")
        # Asterisk's first qualify of a trunk comes within qualify_frequency of a reload; the
        # doctor says to ask for it now.
        pbx.cli(f"pjsip qualify {TRUNK}")
        yield it
    finally:
        pbx.stop()
        pbx.remove()


async def doctor(settings: Settings) -> dict[str, Check]:
    return {check.name: check for check in await check_pbx(settings)}


async def healthy(settings: Settings) -> dict[str, Check]:
    """The doctor's PBX checks once all are ok (a trunk is qualified a moment after a reload)."""
    seen: list[dict[str, Check]] = [{}]

    async def look() -> dict[str, Check] | None:
        seen[0] = await doctor(settings)
        return seen[0] if all(c.level == "ok" for c in seen[0].values()) else None

    return await until(
        look, 20, lambda: "the doctor stayed unhappy:\n" + render(list(seen[0].values())), step=0.5
    )


def test_the_owners_files_keep_their_own_and_only_include_opendeeps(installed: Installed) -> None:
    etc = installed.pbx.etc
    assert "[from-carrier]" in (etc / "extensions.conf").read_text()
    assert "[admin]" in (etc / "manager.conf").read_text()
    for name in ("extensions", "manager", "pjsip"):
        own = (etc / f"{name}.conf").read_text()
        assert own.rstrip().endswith(f"#include opendeep_{name}.conf")
        assert "opendeep-pbx-install" not in own
    assert "\\;transport=udp" in (etc / "opendeep_pjsip.conf").read_text()
    # Asterisk 22 reads the escaped `\;` as part of the value: the contact keeps its transport.
    contacts = installed.pbx.cli(f"pjsip show aor {TRUNK}")
    assert f"sip:127.0.0.1:{installed.pbx.sip_port};transport=udp" in contacts


async def test_the_doctor_is_green_after_the_install(installed: Installed) -> None:
    await healthy(installed.settings)
    assert installed.opendeep("db", "upgrade").returncode == 0
    result = installed.opendeep("doctor")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for name in PBX_CHECKS:
        assert re.search(rf"^\[ok  \] {re.escape(name)}: ", out, re.M), f"{name}:\n{out}"
    assert f"dialling through {TRUNK}" in out
    assert f"{TRUNK}: sip:127.0.0.1:{installed.pbx.sip_port};transport=udp answers" in out
    assert "the test call's recording reached" in out
    assert installed.settings.ami_secret.get_secret_value() not in out + result.stderr


SCRIPTS = {
    "Example Dental": Script(
        responses=[
            ScriptedResponse(outputs=[Say(text="Hello, this is an AI assistant calling.")]),
            ScriptedResponse(
                outputs=[
                    Say(text="Thank you, goodbye."),
                ]
            ),
        ],
        caller_transcripts=["Hello?", "Doctor Smith's dental office, how can I help you?"],
    ),
}


@pytest.fixture
async def call_node(installed: Installed, tmp_path: Path) -> AsyncIterator[tuple[Node, Any, int]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    await asyncio.to_thread(upgrade, url)  # it runs an event loop of its own
    db = Database(url)
    async with RealtimeTestServer(
        Script(responses=[]),
        options=SimOptions(realtime_factor=1.0),
        select_script=script_selector(SCRIPTS),
    ) as sim:
        settings = node_settings(installed.settings, sim.url).model_copy(
            update={"database_url": url}
        )
        node = Node(settings, db, PartsWanted(ui=False), ring_timeout_s=10, safety_interval_s=0.5)
        async with db.users() as users:
            user_id = await users.add("owner", "owner-password-1", display_name="Alex Morgan")
        try:
            async with node:
                assert node.telephony is not None
                await node.telephony.ami.wait_connected(20)
                yield node, sim, user_id
        finally:
            await db.dispose()


async def test_a_call_through_the_installed_trunk_is_talked_through(
    installed: Installed, call_node: tuple[Node, Any, int]
) -> None:
    node, sim, user_id = call_node
    db = node.db
    plan = CampaignPlan(
        name="Example Dental",
        objective="Book a cleaning.",
        targets=[Target(name="Example Dental", phone="+12125550101")],
        max_attempts=1,
    )
    runner = node.graphs.runner
    orch = await runner.start_orchestration(user_id, plan, plan_id="foreign")
    assert orch.feedback_id is not None
    await runner.answer_feedback(user_id, orch.feedback_id, {"type": "accept"})
    async with db.scope(user_id) as s:
        (campaign,) = await s.campaigns.list()
        (task,) = await s.tasks.list_for_campaign(campaign.id)

    async def finished() -> Call | None:
        async with db.scope(user_id) as s:
            calls = await s.calls.list_for_task(task.id)
        return calls[-1] if calls and calls[-1].state is CallState.ENDED else None

    call = await until(dispatching(node, finished), 90, "the call to end", step=0.5)
    assert call.answered_at is not None, call.end_reason
    assert sim.conversations, f"no voice session; the PBX said: {installed.pbx.tail(40)}"
    conn = sim.conversations[0]
    assert conn.input_audio_ms > 2000, "the callee's greeting never reached the voice"
    assert {"agent", "callee"} <= {t["role"] for t in call.transcript}
    recording = installed.pbx.recordings / f"{call.call_uuid}.wav"
    assert recording.exists(), "the installed dialplan recorded nothing"


# --- faults, one at a time ---------------------------------------------------------------------


def _unload(it: Installed) -> None:
    assert "Unloaded" in it.pbx.cli("module unload app_audiosocket.so")


def _load(it: Installed) -> None:
    assert "Loaded" in it.pbx.cli("module load app_audiosocket.so")


def _drop_include(it: Installed) -> None:
    it.pbx.drop_line("extensions.conf", "#include opendeep_extensions.conf")
    it.pbx.cli("dialplan reload")


def _add_include(it: Installed) -> None:
    it.pbx.add_line("extensions.conf", "#include opendeep_extensions.conf")
    it.pbx.cli("dialplan reload")


def _write_classes(write: str) -> Callable[[Installed], None]:
    def edit(it: Installed) -> None:
        path = it.pbx.etc / "opendeep_manager.conf"
        path.write_text(re.sub(r"^write = .*$", f"write = {write}", path.read_text(), flags=re.M))
        it.pbx.cli("manager reload")

    return edit


def _trunk_to(port: Callable[[Installed], int]) -> Callable[[Installed], None]:
    def reinstall(it: Installed) -> None:
        it.install(f"127.0.0.1:{port(it)}")
        it.pbx.cli("module reload res_pjsip.so")
        it.pbx.cli(f"pjsip qualify {TRUNK}")

    return reinstall


@dataclass(frozen=True)
class Fault:
    id: str
    check: str  # the doctor's check that must fail
    says: str  # in what it found
    fix: str  # in the fix it gives
    make: Callable[[Installed], None] | None = None
    mend: Callable[[Installed], None] | None = None
    settings: Callable[[Installed], dict[str, object]] | None = None  # OpenDeep's, changed


FAULTS = [
    Fault(
        "module unloaded",
        "modules",
        "not loaded: app_audiosocket.so (the call's audio to OpenDeep)",
        'asterisk -rx "module load app_audiosocket.so"',
        _unload,
        _load,
    ),
    Fault(
        "context missing",
        "dialplan",
        "Asterisk has none of OpenDeep's contexts",
        "add `#include opendeep_extensions.conf` at the end of extensions.conf",
        _drop_include,
        _add_include,
    ),
    Fault(
        "AMI user without originate",
        "AMI permissions",
        "the AMI user may not send Originate (OpenDeep uses Originate to place calls): it "
        "lacks write class originate",
        '`write = call,originate,reporting`, then asterisk -rx "manager reload"',
        _write_classes("call,reporting"),
        _write_classes("call,originate,reporting"),
    ),
    Fault(
        "trunk unqualified",
        "trunk",
        f"{TRUNK}: sip:127.0.0.1:{DEAD_SIP_PORT};transport=udp does not answer Asterisk's "
        "qualify (OPTIONS): Unreachable",
        f"`contact =` of [{TRUNK}] in opendeep_pjsip.conf",
        _trunk_to(lambda _: DEAD_SIP_PORT),
        _trunk_to(lambda it: it.pbx.sip_port),
    ),
    Fault(
        "AudioSocket unreachable",
        "audiosocket from the PBX",
        "Asterisk could not connect to OpenDeep's AudioSocket at 127.0.0.2:",
        "set AUDIOSOCKET_ADVERTISED_HOST to this machine's address as the PBX reaches it "
        "(now 127.0.0.2)",
        settings=lambda _: {"audiosocket_advertised_host": "127.0.0.2"},
    ),
    Fault(
        "PBX not an allowed AudioSocket peer",
        "audiosocket from the PBX",
        "Asterisk connects from 127.0.0.1, which AUDIOSOCKET_ALLOWED_PEERS does not include",
        "AUDIOSOCKET_ALLOWED_PEERS=127.0.0.1",
        settings=lambda _: {"audiosocket_allowed_peers": "10.0.0.0/8"},
    ),
    Fault(
        "recordings folder not the PBX's",
        "recordings",
        "did not appear in RECORDINGS_DIR",
        "mount the PBX's",
        settings=lambda it: {"recordings_dir": it.home},
    ),
    Fault(
        "wrong AMI secret",
        "AMI login",
        "refused the login of AMI user 'opendeep'",
        "AMI_USERNAME/AMI_SECRET must match [opendeep] of opendeep_manager.conf",
        settings=lambda _: {"ami_secret": SecretStr("not-the-secret")},
    ),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.id for f in FAULTS])
async def test_the_doctor_names_each_fault_and_its_fix(installed: Installed, fault: Fault) -> None:
    await healthy(installed.settings)
    changed = installed.settings.model_copy(
        update=fault.settings(installed) if fault.settings else {}
    )
    if fault.make is not None:
        fault.make(installed)
    try:

        async def named() -> Check | None:
            check = (await doctor(changed)).get(fault.check)
            return check if check is not None and check.level == "fail" else None

        check = await until(named, 20, f"the doctor to fail {fault.check!r}", step=0.5)
        shown = render([check])
        assert fault.says in check.detail, shown
        assert fault.fix in check.fix, shown
    finally:
        if fault.mend is not None:
            fault.mend(installed)
    await healthy(installed.settings)
