"""The doctor's judgement of a PBX, without I/O: what `app.pbx_probe` gathered over AMI (and
from its own AudioSocket listener) goes in as facts, `Check`s come out, each problem with the
exact line or command that fixes it.

Everything is read with the least privilege `opendeep pbx install` grants (`AMI_READ`,
`AMI_WRITE`): ListCommands (no class) shows which actions the user may send, ShowDialPlan
(`reporting`) OpenDeep's contexts, Getvar (`reporting`) evaluates IFMODULE() and the PJSIP
functions, PJSIPShowRegistrationsOutbound (`reporting`) the registrations, and the test call
(`originate`) reports through events of the classes OpenDeep reads (`call`, `user`). AMI's
ModuleCheck and PJSIPShowEndpoint would need `system`, which the user never gets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.checks import Check
from telephony.pbx_install import AMI_READ, AMI_WRITE, OPENDEEP_CONTEXTS

DOCTOR_CONTEXT = "opendeep-doctor"
MANAGER_FILE = "opendeep_manager.conf (FreePBX: manager_custom.conf)"
DIALPLAN_FILE = "opendeep_extensions.conf"
RELOAD_DIALPLAN = 'asterisk -rx "dialplan reload"'
RELOAD_MANAGER = 'asterisk -rx "manager reload"'
PJSIP_FILE = "opendeep_pjsip.conf"
PJSIP_RELOAD = 'asterisk -rx "module reload res_pjsip.so"'

# Each AMI action OpenDeep sends, the class of AMI_WRITE that grants it, and what it is for.
# (Asterisk 22's own privileges, `manager show command NAME`: Originate originate;
# Hangup system|call; PlayDTMF call; Redirect call; Setvar call; StopMixMonitor system|call;
# CoreShowChannels system|reporting; Getvar call|reporting; ShowDialPlan config|reporting;
# DBGet system|reporting.
# Login, Ping and ListCommands need none. StopMixMonitor, which a handover of a recorded call
# sends, is not listed: Asterisk lists it only while app_mixmonitor is loaded (the test call
# checks MixMonitor), and its class is Redirect's.)
ACTIONS: dict[str, tuple[str, str]] = {
    "Originate": ("originate", "place calls"),
    "Hangup": ("call", "end calls"),
    "PlayDTMF": ("call", "press keys in phone menus"),
    "Redirect": ("call", "hand a call over to its owner"),
    "Setvar": ("call", "tell a call handed over where its owner's leg is"),
    "CoreShowChannels": ("reporting", "find the calls still up after a reconnect"),
    "Getvar": ("reporting", "let the doctor read modules and the trunk, find a handover's legs"),
    "ShowDialPlan": ("reporting", "let the doctor read OpenDeep's contexts"),
    "DBGet": ("reporting", "tell whether a stopped node's last call was dialled"),
}
# One action per class that OpenDeep's user must not have: it could run shell commands, load
# or unload modules, reload Asterisk, or rewrite its configuration.
DANGEROUS: dict[str, str] = {"Command": "command", "ModuleLoad": "system", "UpdateConfig": "config"}

# The modules OpenDeep's dialplan uses, in the order they load (a resource before its app).
MODULES: dict[str, str] = {
    "res_pjsip.so": "SIP",
    "chan_pjsip.so": "calls through the PJSIP trunk",
    "app_dial.so": "Dial()",
    "app_stack.so": "Dial's pre-dial handler",
    "app_exec.so": "ExecIf() and TryExec()",
    "res_pjsip_header_funcs.so": "the call's UUID in a SIP header",
    "func_logic.so": "IF()",
    "func_strings.so": "LEN()",
    "func_db.so": "the marks that a call's Originate reached Asterisk",
    "app_db.so": "clearing old marks (DBdeltree)",
    "app_amd.so": "answering-machine detection",
    "app_mixmonitor.so": "recordings",
    "app_userevent.so": "AMD verdicts and recordings reach OpenDeep",
    "res_audiosocket.so": "AudioSocket",
    "app_audiosocket.so": "the call's audio to OpenDeep",
}
# The applications the test call runs (TryExec: NOAPP when the module is not running).
RUN_BY_PROBE = {
    "app_amd.so": "AMD",
    "app_mixmonitor.so": "MixMonitor",
    "app_audiosocket.so": "AudioSocket",
}
DECLINED_FIX = {
    "app_amd.so": "app_amd.so starts only with an amd.conf: create /etc/asterisk/amd.conf "
    "(Asterisk's sample, or a `[general]` line alone for its defaults)",
}
# What the doctor itself reads through Getvar: IFMODULE(), and the trunk's PJSIP state.
PJSIP_FUNCTIONS = ("func_pjsip_endpoint.so", "func_pjsip_aor.so", "func_pjsip_contact.so")
DOCTOR_MODULES = ("func_module.so", *PJSIP_FUNCTIONS)

_PRIV = re.compile(r"\(Priv: ([^)]*)\)\s*\Z")
_DIAL = re.compile(r"PJSIP/\$\{EXTEN\}@([A-Za-z0-9][A-Za-z0-9_.-]*)")


def load(module: str) -> str:
    return f'asterisk -rx "module load {module}"'


# --- the AMI user ----------------------------------------------------------------------------


def privileges(list_commands: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """The actions a ListCommands response lists (only those the user may send) and the
    classes each needs, from values like `Originate a call.  (Priv: originate,all)`."""
    found: dict[str, frozenset[str]] = {}
    for action, text in list_commands.items():
        match = _PRIV.search(text)
        if match is None:
            continue
        classes = {c.strip() for c in match.group(1).split(",")} - {"all", "<none>", ""}
        found[action] = frozenset(classes)
    return found


def check_login(where: str, username: str, problem: str | None) -> Check:
    """The AMI login itself (`problem`: None, "login refused", or what went wrong)."""
    name = "AMI login"
    if problem is None:
        return Check(name, "ok", f"logged in at {where} as {username}")
    if problem == "login refused":
        return Check(
            name,
            "fail",
            f"{where} refused the login of AMI user {username!r}: a wrong secret, or this "
            "machine's address is not the user's `permit`",
            f"AMI_USERNAME/AMI_SECRET must match [{username}] of {MANAGER_FILE}, whose "
            "`permit` must be OpenDeep's address as the PBX sees it: `opendeep pbx install "
            f"--opendeep-address ADDRESS`, then {RELOAD_MANAGER}",
        )
    return Check(name, "fail", f"cannot log in at {where}: {problem}", "check AMI_HOST/AMI_PORT")


def check_permissions(
    permitted: Mapping[str, frozenset[str]],
    *,
    booted: bool,
    call_events: bool | None,
    user_events: bool | None,
) -> Check:
    """The user's write classes (from the actions it may send) and read classes (from the
    events it got: FullyBooted is `system`, the test call's `call`, its UserEvent `user`;
    None: no test call, so not known)."""
    name = "AMI permissions"
    write = ",".join(AMI_WRITE)
    read = ",".join(AMI_READ)
    missing = [a for a in ACTIONS if a not in permitted]
    if missing:
        classes = sorted({ACTIONS[a][0] for a in missing})
        uses = "; ".join(f"{a} to {ACTIONS[a][1]}" for a in missing)
        return Check(
            name,
            "fail",
            f"the AMI user may not send {', '.join(missing)} (OpenDeep uses {uses}): it lacks "
            f"write class {', '.join(classes)}",
            f"in {MANAGER_FILE}: `write = {write}`, then {RELOAD_MANAGER} (a running "
            "OpenDeep logs in again by itself)",
        )
    lacking = [
        (cls, what)
        for cls, seen, what in (
            ("system", booted, "FullyBooted"),
            ("call", call_events, "the test call's channel events"),
            ("user", user_events, "the dialplan's UserEvents"),
        )
        if seen is False
    ]
    if lacking:
        return Check(
            name,
            "fail",
            "the AMI user gets no "
            + " and no ".join(what for _, what in lacking)
            + f": it lacks read class {', '.join(cls for cls, _ in lacking)}",
            f"in {MANAGER_FILE}: `read = {read}`, then {RELOAD_MANAGER}",
        )
    excess = sorted({cls for action, cls in DANGEROUS.items() if action in permitted})
    if excess:
        return Check(
            name,
            "warn",
            f"the AMI user also has write class {', '.join(excess)}: more than OpenDeep needs "
            "(shell commands, modules or configuration)",
            f"in {MANAGER_FILE}: `write = {write}`, then {RELOAD_MANAGER}",
        )
    unknown = "" if call_events is not None else " (read classes call,user: not checked)"
    return Check(name, "ok", f"what OpenDeep uses: read {read}; write {write}{unknown}")


# --- the dialplan ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dialplan:
    """ShowDialPlan's entries (`ListDialplan` events) of each of OpenDeep's contexts that
    Asterisk has; a context it lacks is absent."""

    contexts: Mapping[str, Sequence[Mapping[str, str]]]

    def app_data(self, context: str, extension: str, application: str) -> str | None:
        for entry in self.contexts.get(context, ()):
            if entry.get("Extension") == extension and entry.get("Application") == application:
                return entry.get("AppData", "")
        return None

    @property
    def version(self) -> str | None:
        return self.app_data(DOCTOR_CONTEXT, "version", "NoOp")

    def doctor_recording(self, call_uuid: str) -> str | None:
        """Where the test call's MixMonitor writes, as the PBX names it."""
        for entry in self.contexts.get(DOCTOR_CONTEXT, ()):
            data = entry.get("AppData", "")
            if entry.get("Application") == "TryExec" and data.startswith("MixMonitor("):
                return (
                    data.removeprefix("MixMonitor(").rstrip(")").replace("${CALL_UUID}", call_uuid)
                )
        return None

    @property
    def trunk(self) -> str | None:
        """The PJSIP endpoint `[opendeep-outbound]` dials through."""
        for entry in self.contexts.get("opendeep-outbound", ()):
            if entry.get("Application") == "Dial":
                match = _DIAL.search(entry.get("AppData", ""))
                if match:
                    return match.group(1)
        return None


def check_dialplan(plan: Dialplan, *, expected_version: str, pbx_trunk: str) -> Check:
    name = "dialplan"
    install = f"run `opendeep pbx install` again, then {RELOAD_DIALPLAN}"
    missing = [c for c in OPENDEEP_CONTEXTS if c not in plan.contexts]
    if len(missing) == len(OPENDEEP_CONTEXTS):
        return Check(
            name,
            "fail",
            "Asterisk has none of OpenDeep's contexts (opendeep-outbound, opendeep-agent, …)",
            f"add `#include {DIALPLAN_FILE}` at the end of extensions.conf (FreePBX: "
            f"extensions_custom.conf holds them), then {RELOAD_DIALPLAN}",
        )
    if missing:
        return Check(
            name,
            "fail",
            f"Asterisk lacks OpenDeep's context(s) {', '.join(missing)}: its {DIALPLAN_FILE} is "
            "from an older OpenDeep, or was edited",
            install,
        )
    version = plan.version
    if version != expected_version:
        return Check(
            name,
            "fail",
            f"OpenDeep's contexts are version {version or '(none)'}, this OpenDeep's are "
            f"{expected_version}",
            install,
        )
    trunk = plan.trunk
    if trunk is not None and trunk != pbx_trunk:
        return Check(
            name,
            "warn",
            f"OpenDeep's contexts (version {version}) dial through {trunk}, but PBX_TRUNK is "
            f"{pbx_trunk}",
            f"set PBX_TRUNK={trunk}, or {install}",
        )
    through = f", dialling through {trunk}" if trunk else ""
    return Check(
        name, "ok", f"OpenDeep's {len(OPENDEEP_CONTEXTS)} contexts, version {version}{through}"
    )


# --- modules ---------------------------------------------------------------------------------


def check_modules(loaded: Mapping[str, bool | None], ran: Mapping[str, str] | None) -> Check:
    """`loaded`: IFMODULE() of each module (None: no answer, i.e. func_module is missing).
    `ran`: TRYSTATUS of each application the test call ran (None: no test call report) —
    IFMODULE() also says 1 for a module Asterisk declined to start."""
    name = "modules"
    if loaded.get("func_module.so") is None or all(loaded.get(m) is None for m in MODULES):
        return Check(
            name,
            "warn",
            "cannot tell which modules are loaded: IFMODULE() (func_module.so) gives no answer",
            load("func_module.so"),
        )
    missing = [m for m in MODULES if not loaded.get(m)]
    if missing:
        what = ", ".join(f"{m} ({MODULES[m]})" for m in missing)
        first = missing[0]
        return Check(
            name,
            "fail",
            f"not loaded: {what}",
            " && ".join(load(m) for m in missing)
            + f" — and, to keep it after a restart, `load => {first}` in modules.conf (no "
            f"`noload => {first}`)",
        )
    declined = [m for m, app in RUN_BY_PROBE.items() if (ran or {}).get(app) == "NOAPP"]
    if declined:
        first = declined[0]
        why = DECLINED_FIX.get(first, "the PBX's log says why it declined")
        return Check(
            name,
            "fail",
            f"loaded but not running (Asterisk declined to start it): {', '.join(declined)}",
            f"{why}, then {load(first)}",
        )
    return Check(name, "ok", f"the {len(MODULES)} modules OpenDeep's dialplan uses are loaded")


# --- the trunk -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contact:
    aor: str
    uri: str
    status: str  # PJSIP_CONTACT(id,status): Reachable, Unreachable, NonQualified, Unknown, …
    qualify_frequency: int  # its AOR's, in s (0: never qualified)


@dataclass(frozen=True, slots=True)
class Trunk:
    name: str
    aors: tuple[str, ...]  # the endpoint's (empty: Asterisk has no such endpoint)
    contacts: tuple[Contact, ...] = ()
    # Status of the outbound registrations whose Endpoint is this trunk (name → status).
    registrations: Mapping[str, str] = field(default_factory=dict)


def registrations_of(trunk: str, details: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """Name → Status of PJSIPShowRegistrationsOutbound's `OutboundRegistrationDetail` events
    for `trunk` (the events beside them carry the auth sections, passwords included: they are
    never kept)."""
    return {
        d.get("ObjectName", "?"): d.get("Status", "?")
        for d in details
        if d.get("Event") == "OutboundRegistrationDetail" and d.get("Endpoint") == trunk
    }


def check_trunk(trunk: Trunk, loaded: Mapping[str, bool | None]) -> Check:
    name = "trunk"
    functions = [m for m in PJSIP_FUNCTIONS if loaded.get(m) is False]
    if functions:
        return Check(
            name,
            "warn",
            f"cannot see trunk {trunk.name}: {', '.join(functions)} not loaded",
            " && ".join(load(m) for m in functions),
        )
    if not trunk.aors:
        return Check(
            name,
            "fail",
            f"Asterisk has no PJSIP endpoint {trunk.name} (with an AOR), the trunk OpenDeep's "
            "contexts dial through",
            "write one: `opendeep pbx install --trunk registering|ip …` (README: Use your own "
            "Asterisk); or, with a trunk of your own, set PBX_TRUNK to its endpoint and run "
            f"`opendeep pbx install` again; then {PJSIP_RELOAD}",
        )
    if not trunk.contacts:
        return Check(
            name,
            "fail",
            f"{trunk.name}'s AOR {', '.join(trunk.aors)} has no contact: Asterisk does not know "
            "where to send its calls",
            f"`contact = sip:PROVIDER` in the [{trunk.aors[0]}] aor ({PJSIP_FILE}), then "
            f"{PJSIP_RELOAD}",
        )
    rejected = {n: s for n, s in trunk.registrations.items() if s != "Registered"}
    if rejected:
        reg = next(iter(rejected))
        return Check(
            name,
            "fail",
            f"{trunk.name}'s registration {reg} is {rejected[reg]}",
            f"check the account's user name and password ([{trunk.name}-auth] in {PJSIP_FILE}) "
            f'and server, then asterisk -rx "pjsip send register {reg}"',
        )
    registered = " and registered" if trunk.registrations else ""
    reachable = [c for c in trunk.contacts if c.status == "Reachable"]
    if reachable:
        return Check(name, "ok", f"{trunk.name}: {reachable[0].uri} answers (qualify){registered}")
    if all(c.status == "NonQualified" and c.qualify_frequency == 0 for c in trunk.contacts):
        return Check(
            name,
            "ok",
            f"{trunk.name}: {trunk.contacts[0].uri}{registered} (not qualified: Asterisk does "
            "not check that it answers)",
        )
    first = trunk.contacts[0]
    if all(c.status == "Unreachable" for c in trunk.contacts):
        return Check(
            name,
            "fail",
            f"{trunk.name}: {first.uri} does not answer Asterisk's qualify (OPTIONS): Unreachable",
            f"check its address and transport (`contact =` of [{first.aor}] in {PJSIP_FILE}) "
            'and that the PBX reaches it (firewall, DNS); asterisk -rx "pjsip show aor '
            f'{first.aor}"',
        )
    return Check(
        name,
        "warn",
        f"{trunk.name}: {first.uri} is not qualified yet ({first.status}): after a reload "
        f"Asterisk sends its first OPTIONS at a random moment within qualify_frequency "
        f"({first.qualify_frequency} s)",
        f'asterisk -rx "pjsip qualify {trunk.name}", then the doctor again',
    )


# --- AudioSocket from the PBX ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Probe:
    """The doctor's test call: Local/probe@opendeep-doctor, whose other half runs AMD,
    MixMonitor and AudioSocket (to the doctor's own listener, under `expected_uuid`) each
    through TryExec, then reports their TRYSTATUS in UserEvent OpenDeepDoctor."""

    address: str  # where Asterisk was told to connect (host:port)
    expected_uuid: str
    refused: str | None = None  # Asterisk refused the Originate: its message
    report: Mapping[str, str] | None = None  # the UserEvent's AMD/MixMonitor/AudioSocket
    call_events: bool = False  # any `call` event of the test call (Newchannel, Hangup, …)
    ended: bool = False  # its Hangup event came
    peer: str | None = None  # who connected to the listener
    uuid: str | None = None  # the UUID it sent
    peer_allowed: bool = True  # within AUDIOSOCKET_ALLOWED_PEERS
    spare_port: bool = False  # AUDIOSOCKET_PORT was taken (a running node?): another was used


def check_audiosocket(probe: Probe, *, port: int, pbx_host: str, workers: int = 1) -> Check:
    """`port`: AUDIOSOCKET_PORT; `workers`: the node's media workers, each listening on a port
    of its own from `port` on, which the firewall must let the PBX reach too."""
    name = "audiosocket from the PBX"
    if probe.refused is not None:
        return Check(
            name,
            "fail",
            f"Asterisk refused the test call: {probe.refused}",
            f"run `opendeep pbx install` again, then {RELOAD_DIALPLAN}",
        )
    spare = (
        f" (on a spare port: AUDIOSOCKET_PORT {port} is in use, by a running OpenDeep?)"
        if probe.spare_port
        else ""
    )
    if probe.peer is not None:
        if not probe.peer_allowed:
            return Check(
                name,
                "fail",
                f"Asterisk connects from {probe.peer}, which AUDIOSOCKET_ALLOWED_PEERS does not "
                "include: OpenDeep would close every call's audio at once",
                f"add it: AUDIOSOCKET_ALLOWED_PEERS={probe.peer}",
            )
        if probe.uuid != probe.expected_uuid:
            return Check(
                name,
                "fail",
                f"{probe.peer} connected to {probe.address} but sent UUID {probe.uuid}, not the "
                "test call's: is AudioSocket() given ${CALL_UUID}?",
                f"run `opendeep pbx install` again, then {RELOAD_DIALPLAN}",
            )
        return Check(
            name,
            "ok",
            f"Asterisk ({probe.peer}) reached {probe.address} with the call's UUID{spare}",
        )
    status = (probe.report or {}).get("AudioSocket")
    if status == "NOAPP":
        return Check(
            name,
            "fail",
            "AudioSocket() is not running on the PBX (see modules)",
            load("app_audiosocket.so"),
        )
    host = probe.address.rsplit(":", 1)[0]
    ports = f"{port}-{port + workers - 1}" if workers > 1 else str(port)
    firewall = f"nft add rule inet filter input ip saddr {pbx_host} tcp dport {ports} accept"
    if status is not None:  # FAILED: Asterisk tried and could not connect
        return Check(
            name,
            "fail",
            f"Asterisk could not connect to OpenDeep's AudioSocket at {probe.address}{spare}",
            f"set AUDIOSOCKET_ADVERTISED_HOST to this machine's address as the PBX reaches it "
            f"(now {host}), AUDIOSOCKET_HOST to an address of this machine the PBX can reach, "
            f"and let the PBX through the firewall: {firewall}",
        )
    if probe.ended:
        return Check(
            name,
            "fail",
            "the test call ended without reaching AudioSocket() or saying why (the PBX's log "
            "says; is app_userevent.so loaded?)",
            f"run `opendeep pbx install` again, then {RELOAD_DIALPLAN}",
        )
    return Check(
        name,
        "fail",
        f"no connection to {probe.address}{spare} from the test call, and no word from Asterisk "
        "about it (does the AMI user get `call` and `user` events?)",
        f"let the PBX reach {probe.address}: {firewall}",
    )


# --- the AudioSocket ports ------------------------------------------------------------------

MAX_PORT = 65535


def check_audiosocket_ports(
    host: str, first: int, workers: int, in_use: Mapping[int, str]
) -> Check:
    """The ports a node listens on for AudioSocket: AUDIOSOCKET_PORT (`first`), and with several
    media workers one for each, `first + i` for worker i. `in_use`: the ports that could not be
    bound, with why. All of them taken is a running OpenDeep (or another program on the first
    port); only some of them taken, the workers on those could not listen and the node would
    not start."""
    name = "audiosocket port" if workers == 1 else "audiosocket ports"
    last = first + workers - 1
    if last > MAX_PORT:
        return Check(
            name,
            "fail",
            f"{workers} media workers from AUDIOSOCKET_PORT {first} would need ports up to "
            f"{last}, past {MAX_PORT}",
            f"set AUDIOSOCKET_PORT to {MAX_PORT - workers + 1} or lower, or fewer MEDIA_WORKERS",
        )
    where = f"{host}:{first}" if workers == 1 else f"{host}:{first}-{last}"
    mine = f" (one for each of {workers} media workers)" if workers > 1 else ""
    taken = [port for port in range(first, last + 1) if port in in_use]
    if not taken:
        return Check(name, "ok", f"{where} {'is' if workers == 1 else 'are'} free{mine}")
    if len(taken) == workers:
        why = in_use[first]
        return Check(
            name,
            "warn",
            f"cannot bind {where}: {why}" if workers == 1 else f"{where} are all in use ({why})",
            "another OpenDeep may be running; or set AUDIOSOCKET_PORT",
        )
    named = ", ".join(f"{port} (media worker {port - first}): {in_use[port]}" for port in taken)
    return Check(
        name,
        "fail",
        f"of {where}{mine}, some cannot be bound — {named}: the node would not start",
        f"stop what holds {', '.join(map(str, taken))}, or set AUDIOSOCKET_PORT to the first "
        f"of {workers} free ports in a row",
    )


# --- recordings ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recordings:
    folder: Path  # RECORDINGS_DIR
    exists: bool
    readable: bool
    pbx_file: str | None = None  # the test call's recording, as the PBX names it
    arrived: bool | None = None  # it appeared in `folder` (None: there was no test recording)


def check_recordings(rec: Recordings) -> Check:
    name = "recordings"
    pbx_folder = (
        str(Path(rec.pbx_file).parent) if rec.pbx_file else "/var/spool/asterisk/recordings"
    )
    mount = (
        f"mount the PBX's {pbx_folder} at {rec.folder} (NFS, or `sshfs PBX:{pbx_folder} "
        f"{rec.folder}`), or set RECORDINGS_DIR to where it is mounted"
    )
    if not rec.exists:
        return Check(name, "fail", f"RECORDINGS_DIR {rec.folder} does not exist", mount)
    if not rec.readable:
        return Check(
            name,
            "fail",
            f"RECORDINGS_DIR {rec.folder} cannot be read by OpenDeep",
            f"let the user OpenDeep runs as read it: chmod o+rx {rec.folder} (or its group)",
        )
    if rec.arrived is False:
        return Check(
            name,
            "fail",
            f"the test call's recording {rec.pbx_file} did not appear in RECORDINGS_DIR "
            f"{rec.folder}: it is not the PBX's recordings folder",
            mount,
        )
    if rec.arrived:
        return Check(name, "ok", f"the test call's recording reached {rec.folder}")
    return Check(name, "ok", f"{rec.folder} is readable (not checked against the PBX)")


# --- all of it -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PbxFacts:
    """What the doctor found on the PBX; None where the AMI user may not look."""

    permitted: Mapping[str, frozenset[str]]  # ListCommands
    booted: bool  # FullyBooted came after the login
    plan: Dialplan | None  # None: no ShowDialPlan
    loaded: Mapping[str, bool | None] | None  # IFMODULE() of MODULES and DOCTOR_MODULES
    trunk_name: str
    trunk: Trunk | None  # None: not read (no Getvar, or not a PJSIP name)
    probe: Probe | None  # None: no test call, because of `probe_skipped`
    probe_skipped: str
    recordings: Recordings


def _not_checked(name: str, why: str) -> Check:
    return Check(name, "warn", f"not checked: {why}")


def judge(
    facts: PbxFacts,
    *,
    expected_version: str,
    pbx_trunk: str,
    port: int,
    pbx_host: str,
    workers: int = 1,
) -> list[Check]:
    """Every check of the PBX after the login, in the order they are shown (`port`:
    AUDIOSOCKET_PORT, the first of the `workers` media workers' ports)."""
    probe = facts.probe
    called = probe is not None and probe.refused is None
    checks = [
        check_permissions(
            facts.permitted,
            booted=facts.booted,
            call_events=probe.call_events if probe and called else None,
            user_events=probe.report is not None if probe and called else None,
        )
    ]
    if facts.plan is None:
        checks.append(_not_checked("dialplan", "the AMI user may not send ShowDialPlan"))
    else:
        checks.append(
            check_dialplan(facts.plan, expected_version=expected_version, pbx_trunk=pbx_trunk)
        )
    if facts.loaded is None:
        checks.append(_not_checked("modules", "the AMI user may not send Getvar"))
        checks.append(_not_checked("trunk", "the AMI user may not send Getvar"))
    else:
        checks.append(check_modules(facts.loaded, probe.report if probe else None))
        if facts.trunk is None:
            why = f"{facts.trunk_name!r} is not a PJSIP endpoint's name"
            checks.append(_not_checked("trunk", why))
        else:
            checks.append(check_trunk(facts.trunk, facts.loaded))
    if probe is None:
        checks.append(_not_checked("audiosocket from the PBX", facts.probe_skipped))
    else:
        checks.append(check_audiosocket(probe, port=port, pbx_host=pbx_host, workers=workers))
    checks.append(check_recordings(facts.recordings))
    return checks
