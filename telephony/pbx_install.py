"""OpenDeep's part of an existing Asterisk (plain or FreePBX): files the PBX includes.

- the dialplan: OpenDeep's own contexts of `asterisk/templates/extensions.conf.in` (never the
  development PBX's simulated callees), its globals written in place, since an included
  `[globals]` would be ignored after the PBX's own;
- the AMI user, with the least privilege OpenDeep needs and only OpenDeep's address permitted;
- optionally a PJSIP trunk from a template (registering, or IP-authenticated).

Every file starts with a version stamp; a file without it is the user's own and is never
overwritten. Everything is rendered and checked before anything is written. Files holding a
secret (the AMI secret, a trunk password) are written with mode 600.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.settings import Settings
from telephony.pbx_config import (
    DIALPLAN_TEMPLATE,
    TEMPLATES_DIR,
    PbxConfigError,
    check_value,
    dialplan_version,
    package_version,
    render_template,
    write_atomically,
)

INSTALL_TEMPLATES = TEMPLATES_DIR / "install"
STAMP_PREFIX = "; opendeep-pbx-install:"
DEFAULT_SPOOL_DIR = "/var/spool/asterisk"

# The AMI classes OpenDeep needs (see install/manager.conf.in for what each one is for).
AMI_READ = ("system", "call", "user")
AMI_WRITE = ("call", "originate", "reporting")

# OpenDeep's own contexts in extensions.conf.in, in the order they are written.
OPENDEEP_CONTEXTS = (
    "opendeep-outbound",
    "opendeep-predial",
    "opendeep-dial-result",
    "opendeep-agent",
    "opendeep-owner",
    "opendeep-inbound",
    "opendeep-doctor",
)
# Globals of the development PBX's dialplan written into the installed contexts as values.
# OPENDEEP_AUDIOSOCKET stays a variable: every Originate sets it to the node's own address.
_INLINED_GLOBALS = ("OPENDEEP_TRUNK", "OPENDEEP_SPOOL")
_DEVPBX_ONLY = re.compile(r"^; devpbx-only:begin.*?^; devpbx-only:end[^\n]*\n", re.M | re.S)
_SECTION = re.compile(r"^\[([^\]\n]+)\]", re.M)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_SERVER = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?\Z")
_DOMAIN = re.compile(r"[A-Za-z0-9.-]+\Z")
_USER = re.compile(r"[A-Za-z0-9_.+*#-]+\Z")
_DIR = re.compile(r"/[A-Za-z0-9_./-]*\Z")

Layout = Literal["asterisk", "freepbx"]
TrunkKind = Literal["registering", "ip"]


class PbxInstallError(PbxConfigError):
    """The install cannot go ahead; the message names the file or the value."""


@dataclass(frozen=True, slots=True)
class Trunk:
    """A SIP trunk to write. `server` is the provider's `host[:port]`; `match` (IP trunk) the
    addresses its calls come from (default: the server's host); `domain` the SIP domain of a
    registering account (default: the server's host)."""

    kind: TrunkKind
    server: str
    protocol: Literal["udp", "tcp"] = "udp"
    transport: str = ""  # the PBX's transport section; default by layout and protocol
    username: str = ""
    password: str = ""
    domain: str = ""
    match: str = ""
    inbound_context: str = ""  # default by layout


@dataclass(frozen=True, slots=True)
class InstallFile:
    name: str
    text: str
    mode: int
    include_in: str | None  # the PBX file that must `#include` it (None: FreePBX does)


@dataclass(frozen=True, slots=True)
class InstallPlan:
    layout: Layout
    files: tuple[InstallFile, ...]

    @property
    def include_lines(self) -> list[tuple[str, str]]:
        """(PBX file, line to add at its end) for each file the PBX does not include yet."""
        return [(f.include_in, f"#include {f.name}") for f in self.files if f.include_in]

    @property
    def reload_command(self) -> str:
        return "fwconsole reload" if self.layout == "freepbx" else 'asterisk -rx "core reload"'


_NAMES: dict[Layout, dict[str, tuple[str, str | None]]] = {
    "asterisk": {
        "dialplan": ("opendeep_extensions.conf", "extensions.conf"),
        "manager": ("opendeep_manager.conf", "manager.conf"),
        "trunk": ("opendeep_pjsip.conf", "pjsip.conf"),
    },
    # FreePBX's own configuration includes these files and leaves them to the administrator.
    "freepbx": {
        "dialplan": ("extensions_custom.conf", None),
        "manager": ("manager_custom.conf", None),
        "trunk": ("pjsip.endpoint_custom.conf", None),
    },
}


def stamp() -> str:
    return (
        f"{STAMP_PREFIX} OpenDeep {package_version()}. Written by `opendeep pbx install`, which rewrites "
        "it; edits here are lost."
    )


def plan_install(
    settings: Settings,
    *,
    layout: Layout = "asterisk",
    opendeep_address: str = "127.0.0.1",
    trunk: Trunk | None = None,
    spool_dir: str = DEFAULT_SPOOL_DIR,
) -> InstallPlan:
    """Render every file for the PBX; nothing is written. Raises `PbxInstallError` (or the
    renderer's `PbxConfigError`) naming a value that cannot be used."""
    names = _NAMES[layout]
    head = stamp()
    files = [
        _file(names["dialplan"], dialplan(settings, spool_dir=spool_dir, stamp=head), 0o644),
        _file(names["manager"], manager(settings, opendeep_address, stamp=head), 0o600),
    ]
    if trunk is not None:
        text = trunk_config(settings, trunk, layout=layout, stamp=head)
        files.append(_file(names["trunk"], text, 0o600 if trunk.password else 0o644))
    return InstallPlan(layout, tuple(files))


def _file(name: tuple[str, str | None], text: str, mode: int) -> InstallFile:
    return InstallFile(name=name[0], text=text, mode=mode, include_in=name[1])


def dialplan(settings: Settings, *, spool_dir: str = DEFAULT_SPOOL_DIR, stamp: str) -> str:
    """OpenDeep's contexts of the development PBX's dialplan, with its globals inlined."""
    check_value("PBX_TRUNK", settings.pbx_trunk, _NAME)
    check_value("spool dir", spool_dir, _DIR)
    text = DIALPLAN_TEMPLATE.read_text(encoding="utf-8")
    text = _DEVPBX_ONLY.sub("", text)
    sections = _sections(text)
    missing = [name for name in OPENDEEP_CONTEXTS if name not in sections]
    if missing:
        raise PbxInstallError(f"extensions.conf.in lacks the context(s) {', '.join(missing)}")
    body = "\n".join(f"[{name}]\n{_trim(sections[name])}\n" for name in OPENDEEP_CONTEXTS)
    values = {"OPENDEEP_TRUNK": settings.pbx_trunk, "OPENDEEP_SPOOL": spool_dir.rstrip("/")}
    for name in _INLINED_GLOBALS:
        body = body.replace(f"${{{name}}}", values[name])
    body = body.replace("${dialplan_version}", dialplan_version())
    if "${OPENDEEP_SOUNDS}" in body or re.search(r"\$\{[a-z][a-z0-9_]*\}", body):
        raise PbxInstallError("OpenDeep's contexts use a value the install does not provide")
    intro = (
        "; OpenDeep's dialplan contexts. OpenDeep originates calls as\n"
        ";   Channel Local/<E.164>@opendeep-outbound, Context opendeep-agent, Exten s\n"
        f"; and dials them through the PJSIP endpoint {settings.pbx_trunk} (PBX_TRUNK). Each call\n"
        "; carries OPENDEEP_AUDIOSOCKET, the address of the node's AudioSocket server.\n"
    )
    return f"{stamp}\n{intro}\n{body}"


def _sections(text: str) -> dict[str, str]:
    marks = list(_SECTION.finditer(text))
    sections: dict[str, str] = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        end = following.start() if following else len(text)
        sections[mark.group(1)] = text[mark.end() : end]
    return sections


def _trim(body: str) -> str:
    """A context's lines without the blank and comment lines that trail it (they introduce
    whatever follows it in the template)."""
    lines = body.strip().splitlines()
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith(";")):
        lines.pop()
    return "\n".join(lines)


def manager(settings: Settings, opendeep_address: str, *, stamp: str) -> str:
    """The AMI user: the settings' name and secret, OpenDeep's address only, least privilege."""
    secret = settings.ami_secret.get_secret_value()
    if not secret:
        raise PbxInstallError(
            "AMI_SECRET is empty: set it, or let `opendeep pbx install` generate one"
        )
    if secret != secret.strip() or ";" in secret or any(ord(c) < 32 for c in secret):
        raise PbxInstallError(
            "AMI_SECRET must not contain ';', control characters or surrounding spaces"
        )
    check_value("AMI_USERNAME", settings.ami_username, _NAME)
    return _render(
        "manager.conf.in",
        stamp=stamp,
        ami_username=settings.ami_username,
        ami_secret=secret,
        opendeep_permit=permit(opendeep_address),
        ami_read=",".join(AMI_READ),
        ami_write=",".join(AMI_WRITE),
    )


def permit(address: str) -> str:
    """An ACL `permit` value for exactly one address (`10.0.0.5/255.255.255.255`, `fd00::5/128`)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        raise PbxInstallError(
            f"OpenDeep's address {address!r} must be one IP address (the AMI user is permitted "
            "from it only)"
        ) from None
    return f"{ip}/255.255.255.255" if ip.version == 4 else f"{ip}/128"


def trunk_config(settings: Settings, trunk: Trunk, *, layout: Layout, stamp: str) -> str:
    check_value("PBX_TRUNK", settings.pbx_trunk, _NAME)
    check_value("the SIP server", trunk.server, _SERVER)
    host = trunk.server.split(":", 1)[0]
    transport = trunk.transport or _default_transport(layout, trunk.protocol)
    check_value("the transport", transport, _NAME)
    inbound = trunk.inbound_context or ("from-pstn" if layout == "freepbx" else "opendeep-inbound")
    check_value("the inbound context", inbound, _NAME)
    values = {
        "stamp": stamp,
        "trunk": settings.pbx_trunk,
        "sip_server": trunk.server,
        "protocol": trunk.protocol,
        "transport": transport,
        "inbound_context": inbound,
    }
    if trunk.kind == "ip":
        values["sip_match"] = _match(trunk.match or host)
        return _render("trunk-ip.conf.in", **values)
    if not trunk.username or not trunk.password:
        raise PbxInstallError("a registering trunk needs the account's user name and password")
    check_value("the SIP user name", trunk.username, _USER)
    password = trunk.password
    if password != password.strip() or ";" in password or any(ord(c) < 32 for c in password):
        raise PbxInstallError(
            "the SIP password must not contain ';', control characters or surrounding spaces"
        )
    domain = trunk.domain or host
    check_value("the SIP domain", domain, _DOMAIN)
    values |= {"sip_username": trunk.username, "sip_password": password, "sip_domain": domain}
    return _render("trunk-registering.conf.in", **values)


def _default_transport(layout: Layout, protocol: str) -> str:
    # FreePBX names its transports by bind address and protocol; Asterisk's sample config
    # calls them transport-<protocol>.
    return f"0.0.0.0-{protocol}" if layout == "freepbx" else f"transport-{protocol}"


def _match(value: str) -> str:
    entries = [e.strip() for e in value.split(",") if e.strip()]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            check_value("the trunk's match address", entry, _DOMAIN)
    if not entries:
        raise PbxInstallError("an IP trunk needs the provider's address(es) to match")
    return ",".join(entries)


def _render(template: str, **values: str) -> str:
    return render_template(INSTALL_TEMPLATES / template, values)


def default_dest(etc: Path = Path("/etc/asterisk")) -> Path:
    """/etc/asterisk when it is there and writable (OpenDeep on the PBX), else ./pbx-install."""
    return etc if etc.is_dir() and os.access(etc, os.W_OK) else Path("pbx-install")


def write_install(plan: InstallPlan, dest: Path) -> list[Path]:
    """Write the plan's files into `dest`. Raises `PbxInstallError`, with nothing written, when
    a file there is not one OpenDeep wrote (no stamp) and is not empty."""
    foreign = [str(dest / f.name) for f in plan.files if _foreign(dest / f.name)]
    if foreign:
        hint = (
            "install without --freepbx (opendeep_*.conf files) and add their `#include` lines "
            "to these files instead"
            if plan.layout == "freepbx"
            else "move it aside, or install into another folder with --dest"
        )
        raise PbxInstallError(
            f"not overwritten: {', '.join(foreign)} (not written by OpenDeep: no "
            f"'{STAMP_PREFIX}' line); {hint}"
        )
    dest.mkdir(parents=True, exist_ok=True)
    owner = dest.stat() if os.geteuid() == 0 else None
    written = []
    for f in plan.files:
        path = write_atomically(dest / f.name, f.text, f.mode)
        if owner is not None:
            # Written by root into the PBX's folder: Asterisk (its owner) must read it.
            os.chown(path, owner.st_uid, owner.st_gid)
        written.append(path)
    return written


def _foreign(path: Path) -> bool:
    if not path.exists():
        return False
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        return False
    return not text.lstrip().startswith(STAMP_PREFIX)
