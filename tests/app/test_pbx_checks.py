"""The doctor's judgement of a PBX, fed facts as AMI gives them (no PBX needed): each problem is
named with its fix, and the doctor asks for no AMI class the install does not grant."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.checks import render
from app.pbx_checks import (
    ACTIONS,
    DOCTOR_CONTEXT,
    MODULES,
    Contact,
    Dialplan,
    PbxFacts,
    Probe,
    Recordings,
    Trunk,
    check_audiosocket,
    check_audiosocket_ports,
    check_dialplan,
    check_login,
    check_modules,
    check_permissions,
    check_recordings,
    check_trunk,
    judge,
    privileges,
    registrations_of,
)
from app.pbx_probe import probe_action
from core.settings import Settings
from telephony.originate import check_variable
from telephony.pbx_config import dialplan_version
from telephony.pbx_install import AMI_READ, AMI_WRITE, OPENDEEP_CONTEXTS, dialplan, stamp

VERSION = dialplan_version()
# What Asterisk 22.10 answers to ListCommands for a user with the install's classes (extract).
LIST_COMMANDS = {
    "Response": "Success",
    "Originate": "Originate a call.  (Priv: originate,all)",
    "Hangup": "Hangup channel.  (Priv: system,call,all)",
    "PlayDTMF": "Play DTMF signal on a specific channel.  (Priv: call,all)",
    "Redirect": "Redirect (transfer) a call.  (Priv: call,all)",
    "Setvar": "Sets a channel variable or function value.  (Priv: call,all)",
    "CoreShowChannels": "List currently active channels.  (Priv: system,reporting,all)",
    "Getvar": "Gets a channel variable or function value.  (Priv: call,reporting,all)",
    "ShowDialPlan": "Show dialplan contexts and extensions  (Priv: config,reporting,all)",
    "DBGet": "Get DB Entry.  (Priv: system,reporting,all)",
    "PJSIPShowRegistrationsOutbound": "Lists PJSIP outbound registrations.  (Priv: system,reporting,all)",
    "Ping": "Keepalive command.  (Priv: <none>)",
}
PERMITTED = privileges(LIST_COMMANDS)
ALL_LOADED: dict[str, bool | None] = {
    m: True for m in (*MODULES, "func_module.so", "func_pjsip_endpoint.so", "func_pjsip_aor.so")
} | {"func_pjsip_contact.so": True}
FINE_REPORT = {"AMD": "SUCCESS", "MixMonitor": "SUCCESS", "AudioSocket": "SUCCESS"}


def rendered_dialplan() -> Dialplan:
    """OpenDeep's installed contexts as ShowDialPlan lists them (parsed from the install's file)."""
    text = dialplan(Settings(pbx_trunk="carrier"), spool_dir="/var/spool/asterisk", stamp=stamp())
    contexts: dict[str, list[dict[str, str]]] = {}
    current, exten, priority = "", "", 0
    for line in text.splitlines():
        line = line.strip()
        if head := re.match(r"\[([^\]]+)\]", line):
            current = head.group(1)
            contexts[current] = []
        elif match := re.match(
            r"(exten|same) => (?:([^,]+),)?(\w+)(?:\(\w+\))?,(\w+)\((.*)\)$", line
        ):
            if match.group(1) == "exten":
                exten = match.group(2)
            priority = 1 if match.group(3) == "1" else priority + 1
            contexts[current].append(
                {
                    "Event": "ListDialplan",
                    "Context": current,
                    "Extension": exten,
                    "Priority": str(priority),
                    "Application": match.group(4),
                    "AppData": match.group(5),
                }
            )
    return Dialplan(contexts)


# --- the AMI user ------------------------------------------------------------------------------


def test_the_doctor_uses_exactly_the_write_classes_the_install_grants() -> None:
    assert {cls for cls, _ in ACTIONS.values()} == set(AMI_WRITE)
    # Each action's class is one Asterisk 22 accepts for it.
    for action, (cls, _) in ACTIONS.items():
        assert cls in PERMITTED[action], action
    assert set(AMI_READ) == {"system", "call", "user"}


def test_list_commands_is_read_as_actions_and_their_classes() -> None:
    assert PERMITTED["Originate"] == {"originate"}
    assert PERMITTED["Hangup"] == {"system", "call"}
    assert PERMITTED["Ping"] == frozenset()
    assert "Response" not in PERMITTED


def test_a_refused_login_names_the_file_and_the_address() -> None:
    check = check_login("10.0.0.2:5038", "opendeep", "login refused")
    assert check.level == "fail"
    assert "refused the login of AMI user 'opendeep'" in check.detail
    assert "[opendeep] of opendeep_manager.conf" in check.fix
    assert "--opendeep-address" in check.fix and 'asterisk -rx "manager reload"' in check.fix


@pytest.mark.parametrize(
    ("without", "kwargs", "level", "says", "fix"),
    [
        (
            (),
            {},
            "ok",
            "what OpenDeep uses: read system,call,user; write call,originate,reporting",
            "",
        ),
        (
            ("Originate",),
            {},
            "fail",
            "may not send Originate (OpenDeep uses Originate to place calls): it lacks write "
            "class originate",
            '`write = call,originate,reporting`, then asterisk -rx "manager reload"',
        ),
        (
            ("CoreShowChannels", "Getvar", "ShowDialPlan"),
            {},
            "fail",
            "lacks write class reporting",
            "`write = call,originate,reporting`",
        ),
        (
            (),
            {"call_events": False},
            "fail",
            "gets no the test call's channel events: it lacks read class call",
            "`read = system,call,user`",
        ),
        ((), {"booted": False}, "fail", "lacks read class system", "`read = system,call,user`"),
        ((), {"user_events": False}, "fail", "lacks read class user", "`read = system,call,user`"),
    ],
)
def test_permissions(
    without: tuple[str, ...], kwargs: dict[str, bool], level: str, says: str, fix: str
) -> None:
    permitted = {a: c for a, c in PERMITTED.items() if a not in without}
    facts = {"booted": True, "call_events": True, "user_events": True} | kwargs
    check = check_permissions(permitted, **facts)
    assert check.level == level and says in check.detail, render([check])
    assert fix in check.fix


def test_more_than_needed_is_a_warning() -> None:
    permitted = PERMITTED | {"Command": frozenset({"command"})}
    check = check_permissions(permitted, booted=True, call_events=True, user_events=True)
    assert check.level == "warn" and "also has write class command" in check.detail


# --- the dialplan --------------------------------------------------------------------------------


def test_the_installed_contexts_carry_what_the_doctor_reads() -> None:
    plan = rendered_dialplan()
    assert set(plan.contexts) == set(OPENDEEP_CONTEXTS)
    assert plan.version == VERSION
    assert plan.trunk == "carrier"
    assert plan.doctor_recording("abc") == "/var/spool/asterisk/recordings/opendeep-doctor-abc.wav"
    check = check_dialplan(plan, expected_version=VERSION, pbx_trunk="carrier")
    assert check.level == "ok" and f"version {VERSION}, dialling through carrier" in check.detail


def test_the_dialplan_version_follows_the_template() -> None:
    assert re.fullmatch(r"[\w.]+\+[0-9a-f]{8}", VERSION)


@pytest.mark.parametrize(
    ("contexts", "version", "trunk", "level", "says", "fix"),
    [
        (
            (),
            VERSION,
            "carrier",
            "fail",
            "none of OpenDeep's contexts",
            "#include opendeep_extensions.conf",
        ),
        (
            ("opendeep-doctor",),
            VERSION,
            "carrier",
            "fail",
            "lacks OpenDeep's context(s) opendeep-doctor",
            'run `opendeep pbx install` again, then asterisk -rx "dialplan reload"',
        ),
        (
            None,
            "0.0.1+deadbeef",
            "carrier",
            "fail",
            f"are version 0.0.1+deadbeef, this OpenDeep's are {VERSION}",
            "opendeep pbx install",
        ),
        (
            None,
            VERSION,
            "other",
            "warn",
            "dial through carrier, but PBX_TRUNK is other",
            "PBX_TRUNK=carrier",
        ),
    ],
)
def test_dialplan_problems(
    contexts: tuple[str, ...] | None, version: str, trunk: str, level: str, says: str, fix: str
) -> None:
    plan = rendered_dialplan()
    kept = {
        name: entries
        for name, entries in plan.contexts.items()
        if contexts is None or (contexts and name not in contexts)
    }
    if contexts is None:
        kept[DOCTOR_CONTEXT] = [
            {**e, "AppData": version} if e["Extension"] == "version" else e
            for e in kept[DOCTOR_CONTEXT]
        ]
    check = check_dialplan(Dialplan(kept), expected_version=VERSION, pbx_trunk=trunk)
    assert check.level == level and says in check.detail, render([check])
    assert fix in check.fix


# --- modules -------------------------------------------------------------------------------------


def test_modules() -> None:
    assert check_modules(ALL_LOADED, FINE_REPORT).level == "ok"
    unloaded = check_modules(ALL_LOADED | {"app_audiosocket.so": False}, None)
    assert unloaded.level == "fail"
    assert "not loaded: app_audiosocket.so (the call's audio to OpenDeep)" in unloaded.detail
    assert unloaded.fix.startswith('asterisk -rx "module load app_audiosocket.so"')
    assert "`load => app_audiosocket.so` in modules.conf" in unloaded.fix
    declined = check_modules(ALL_LOADED, FINE_REPORT | {"AMD": "NOAPP"})
    assert declined.level == "fail" and "not running" in declined.detail
    assert "amd.conf" in declined.fix and 'module load app_amd.so"' in declined.fix
    blind = check_modules({m: None for m in ALL_LOADED}, None)
    assert blind.level == "warn" and blind.fix == 'asterisk -rx "module load func_module.so"'


# --- the trunk -----------------------------------------------------------------------------------

URI = "sip:203.0.113.10;transport=udp"


def contact(status: str, frequency: int = 60) -> Contact:
    return Contact("carrier", URI, status, frequency)


@pytest.mark.parametrize(
    ("trunk", "level", "says", "fix"),
    [
        (Trunk("carrier", ("carrier",), (contact("Reachable"),)), "ok", f"{URI} answers", ""),
        (Trunk("carrier", ("carrier",), (contact("NonQualified", 0),)), "ok", "not qualified", ""),
        (
            Trunk("carrier", ("carrier",), (contact("Unreachable"),)),
            "fail",
            "does not answer Asterisk's qualify (OPTIONS): Unreachable",
            "`contact =` of [carrier] in opendeep_pjsip.conf",
        ),
        (
            Trunk("carrier", ("carrier",), (contact("NonQualified"),)),
            "warn",
            "not qualified yet",
            'asterisk -rx "pjsip qualify carrier"',
        ),
        (Trunk("carrier", ()), "fail", "no PJSIP endpoint carrier", "--trunk registering|ip"),
        (Trunk("carrier", ("carrier",)), "fail", "has no contact", "`contact = sip:PROVIDER`"),
        (
            Trunk("carrier", ("carrier",), (contact("Reachable"),), {"carrier-reg": "Rejected"}),
            "fail",
            "registration carrier-reg is Rejected",
            'asterisk -rx "pjsip send register carrier-reg"',
        ),
        (
            Trunk("carrier", ("carrier",), (contact("Reachable"),), {"carrier-reg": "Registered"}),
            "ok",
            "answers (qualify) and registered",
            "",
        ),
    ],
)
def test_trunk(trunk: Trunk, level: str, says: str, fix: str) -> None:
    check = check_trunk(trunk, ALL_LOADED)
    assert check.level == level and says in check.detail, render([check])
    assert fix in check.fix


def test_registrations_keep_the_status_and_never_the_auth() -> None:
    details = [
        {
            "Event": "OutboundRegistrationDetail",
            "ObjectName": "carrier-reg",
            "Endpoint": "carrier",
            "Status": "Registered",
        },
        {"Event": "AuthDetail", "ObjectName": "carrier-auth", "Password": "planted-pw"},
        {"Event": "OutboundRegistrationDetail", "ObjectName": "x", "Endpoint": "y", "Status": "?"},
    ]
    found = registrations_of("carrier", details)
    assert found == {"carrier-reg": "Registered"}
    assert "planted-pw" not in repr(found)


# --- AudioSocket from the PBX --------------------------------------------------------------------

ADDRESS = "192.168.1.50:9092"


@pytest.mark.parametrize(
    ("probe", "level", "says", "fix"),
    [
        (
            Probe(ADDRESS, "u1", report=FINE_REPORT, peer="192.168.1.10", uuid="u1"),
            "ok",
            "Asterisk (192.168.1.10) reached 192.168.1.50:9092 with the call's UUID",
            "",
        ),
        (
            Probe(ADDRESS, "u1", peer="192.168.1.10", uuid="u1", peer_allowed=False),
            "fail",
            "connects from 192.168.1.10, which AUDIOSOCKET_ALLOWED_PEERS does not include",
            "AUDIOSOCKET_ALLOWED_PEERS=192.168.1.10",
        ),
        (
            Probe(ADDRESS, "u1", report=FINE_REPORT | {"AudioSocket": "FAILED"}, ended=True),
            "fail",
            "could not connect to OpenDeep's AudioSocket at 192.168.1.50:9092",
            "AUDIOSOCKET_ADVERTISED_HOST to this machine's address as the PBX reaches it (now "
            "192.168.1.50)",
        ),
        (
            Probe(ADDRESS, "u1", report=FINE_REPORT | {"AudioSocket": "NOAPP"}, ended=True),
            "fail",
            "AudioSocket() is not running",
            'asterisk -rx "module load app_audiosocket.so"',
        ),
        (Probe(ADDRESS, "u1", refused="Originate failed"), "fail", "refused the test call", ""),
        (
            Probe(ADDRESS, "u1"),
            "fail",
            "no word from Asterisk",
            "nft add rule inet filter input ip saddr 192.168.1.10 tcp dport 9092 accept",
        ),
    ],
)
def test_audiosocket(probe: Probe, level: str, says: str, fix: str) -> None:
    check = check_audiosocket(probe, port=9092, pbx_host="192.168.1.10")
    assert check.level == level and says in check.detail, render([check])
    assert fix in check.fix


def test_the_firewall_rule_opens_every_media_workers_port() -> None:
    check = check_audiosocket(Probe(ADDRESS, "u1"), port=9092, pbx_host="192.168.1.10", workers=3)
    assert "nft add rule inet filter input ip saddr 192.168.1.10 tcp dport 9092-9094 accept" in (
        check.fix
    )


# --- the AudioSocket ports -----------------------------------------------------------------------

IN_USE = "Address already in use"


@pytest.mark.parametrize(
    ("workers", "in_use", "level", "says", "fix"),
    [
        (1, {}, "ok", "127.0.0.1:9092 is free", ""),
        (1, {9092: IN_USE}, "warn", f"cannot bind 127.0.0.1:9092: {IN_USE}", "another OpenDeep"),
        (3, {}, "ok", "127.0.0.1:9092-9094 are free (one for each of 3 media workers)", ""),
        (
            3,
            {9092: IN_USE, 9093: IN_USE, 9094: IN_USE},
            "warn",
            f"127.0.0.1:9092-9094 are all in use ({IN_USE})",
            "another OpenDeep may be running",
        ),
        # The first port free, a worker's taken: that worker could not listen.
        (
            3,
            {9094: IN_USE},
            "fail",
            f"9094 (media worker 2): {IN_USE}: the node would not start",
            "stop what holds 9094, or set AUDIOSOCKET_PORT to the first of 3 free ports in a row",
        ),
        (
            2,
            {9092: IN_USE},
            "fail",
            f"9092 (media worker 0): {IN_USE}",
            "stop what holds 9092",
        ),
    ],
)
def test_audiosocket_ports(
    workers: int, in_use: dict[int, str], level: str, says: str, fix: str
) -> None:
    check = check_audiosocket_ports("127.0.0.1", 9092, workers, in_use)
    assert check.level == level and says in check.detail, render([check])
    assert fix in check.fix
    assert check.name == ("audiosocket port" if workers == 1 else "audiosocket ports")


def test_media_workers_ports_past_the_last_port_are_named() -> None:
    check = check_audiosocket_ports("127.0.0.1", 65534, 4, {})
    assert check.level == "fail", render([check])
    assert "would need ports up to 65537, past 65535" in check.detail
    assert "set AUDIOSOCKET_PORT to 65532 or lower" in check.fix


def test_the_test_calls_variables_travel_intact() -> None:
    action = probe_action("0b6f1c1e-0000-4000-8000-000000000001", "[fd00::5]:9092")
    assert action["Channel"] == f"Local/probe@{DOCTOR_CONTEXT}"
    assert action["Context"] == DOCTOR_CONTEXT and action["ChannelId"] == action["Variable"][0][10:]
    for variable in action["Variable"]:
        check_variable(*variable.split("=", 1))


# --- recordings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rec", "level", "says", "fix"),
    [
        (
            Recordings(Path("/mnt/rec"), True, True, "/s/recordings/x.wav", True),
            "ok",
            "reached",
            "",
        ),
        (Recordings(Path("/mnt/rec"), True, True), "ok", "not checked against the PBX", ""),
        (
            Recordings(Path("/mnt/rec"), False, False),
            "fail",
            "RECORDINGS_DIR /mnt/rec does not exist",
            "mount the PBX's /var/spool/asterisk/recordings at /mnt/rec",
        ),
        (
            Recordings(Path("/mnt/rec"), True, False),
            "fail",
            "cannot be read",
            "chmod o+rx /mnt/rec",
        ),
        (
            Recordings(Path("/mnt/rec"), True, True, "/s/recordings/x.wav", False),
            "fail",
            "did not appear in RECORDINGS_DIR /mnt/rec",
            "`sshfs PBX:/s/recordings /mnt/rec`",
        ),
    ],
)
def test_recordings(rec: Recordings, level: str, says: str, fix: str) -> None:
    check = check_recordings(rec)
    assert check.level == level and says in check.detail, render([check])
    assert fix in check.fix


# --- all of it -----------------------------------------------------------------------------------


def test_what_the_user_may_not_see_is_not_checked_and_says_why() -> None:
    facts = PbxFacts(
        permitted={"Originate": frozenset({"originate"})},
        booted=True,
        plan=None,
        loaded=None,
        trunk_name="carrier",
        trunk=None,
        probe=None,
        probe_skipped=f"the test call needs the context {DOCTOR_CONTEXT} (see dialplan)",
        recordings=Recordings(Path("/mnt/rec"), True, True),
    )
    checks = {
        c.name: c
        for c in judge(
            facts, expected_version=VERSION, pbx_trunk="carrier", port=9092, pbx_host="pbx"
        )
    }
    assert checks["AMI permissions"].level == "fail"
    for name in ("dialplan", "modules", "trunk", "audiosocket from the PBX"):
        assert checks[name].level == "warn" and checks[name].detail.startswith("not checked: ")
    assert list(checks) == [
        "AMI permissions",
        "dialplan",
        "modules",
        "trunk",
        "audiosocket from the PBX",
        "recordings",
    ]
