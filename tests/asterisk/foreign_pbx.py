"""Someone else's Asterisk, for testing `opendeep pbx install` and `opendeep doctor` against a
PBX OpenDeep did not configure.

It is a second Asterisk from the development PBX's root (its binaries, modules and sounds),
started with `asterisk -C` on a configuration of its own in a fresh folder of that root: the
owner's plain `extensions.conf`, `manager.conf` (with an admin user of the owner's), `pjsip.conf`
with one UDP transport, `autoload = yes` — and no OpenDeep file until a test installs them.
Its loop-back "carrier": a trunk to its own SIP port lands in the owner's `[from-carrier]`,
where a person answers, greets, waits for the caller to speak, and says goodbye.

Ports come from FOREIGN_PBX_AMI_PORT (default 5048) and FOREIGN_PBX_SIP_PORT (default 5078),
so it runs beside a development PBX on the default ports.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

AMI_PORT = int(os.environ.get("FOREIGN_PBX_AMI_PORT", "5048"))
SIP_PORT = int(os.environ.get("FOREIGN_PBX_SIP_PORT", "5078"))
SOUNDS = "/var/lib/asterisk/sounds/opendeep"  # made by devpbx in its root
BOOT_TIMEOUT_S = 30.0


class ForeignPbxError(RuntimeError):
    """The foreign Asterisk could not be started or driven; the message says why."""


@dataclass
class ForeignPbx:
    root: Path  # the development PBX's root (host path)
    home: str  # this PBX's folder, as Asterisk (inside the root) sees it
    ami_port: int = AMI_PORT
    sip_port: int = SIP_PORT
    admin_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    process: subprocess.Popen[bytes] | None = None

    def host(self, path: str) -> Path:
        """A path as Asterisk sees it, as this machine sees it."""
        return self.root / path.lstrip("/")

    @property
    def etc(self) -> Path:
        return self.host(f"{self.home}/etc")

    @property
    def spool(self) -> str:
        return f"{self.home}/spool"

    @property
    def recordings(self) -> Path:
        return self.host(f"{self.spool}/recordings")

    @property
    def log(self) -> Path:
        return self.host(f"{self.home}/log/messages")

    # --- life ------------------------------------------------------------------------------
    def write_config(self) -> None:
        """The owner's own plain configuration (and nothing of OpenDeep's)."""
        for sub in ("etc", "run", "spool/recordings", "log", "db", "cache"):
            self.host(f"{self.home}/{sub}").mkdir(parents=True, exist_ok=True)
        files = {
            "asterisk.conf": _ASTERISK_CONF.format(home=self.home),
            "modules.conf": _MODULES_CONF,
            "logger.conf": _LOGGER_CONF,
            "manager.conf": _MANAGER_CONF.format(port=self.ami_port, secret=self.admin_secret),
            "extensions.conf": _EXTENSIONS_CONF.format(sounds=SOUNDS),
            "pjsip.conf": _PJSIP_CONF.format(port=self.sip_port),
            "rtp.conf": _RTP_CONF,
            "amd.conf": _AMD_CONF,
        }
        for name, text in files.items():
            (self.etc / name).write_text(text)

    def start(self) -> None:
        for port, what in ((self.ami_port, "AMI"), (self.sip_port, "SIP")):
            if _in_use(port, udp=what == "SIP"):
                raise ForeignPbxError(f"{what} port {port} is taken (FOREIGN_PBX_{what}_PORT)")
        out = self.host(f"{self.home}/log/asterisk.out").open("wb")
        self.process = subprocess.Popen(
            [*self._asterisk(), "-f", "-n", "-U", "root", "-G", "root"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ForeignPbxError(f"Asterisk exited during start-up: {self.tail()}")
            if _answers(self.ami_port) and "fully booted" in self.cli("core waitfullybooted"):
                return
            time.sleep(0.2)
        self.stop()
        raise ForeignPbxError(f"AMI did not answer within {BOOT_TIMEOUT_S:g} s: {self.tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.cli("core stop now")
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    def remove(self) -> None:
        shutil.rmtree(self.host(self.home), ignore_errors=True)

    # --- driving it --------------------------------------------------------------------
    def cli(self, command: str) -> str:
        """`asterisk -rx COMMAND` on this PBX (its own control socket)."""
        result = subprocess.run(
            [*self._asterisk(), "-rx", command],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
        return result.stdout + result.stderr

    def add_line(self, name: str, line: str) -> None:
        path = self.etc / name
        path.write_text(path.read_text().rstrip("\n") + f"\n{line}\n")

    def drop_line(self, name: str, line: str) -> None:
        path = self.etc / name
        kept = [kept for kept in path.read_text().splitlines() if kept.strip() != line]
        path.write_text("\n".join(kept) + "\n")

    def tail(self, lines: int = 15) -> str:
        texts = []
        for path in (self.host(f"{self.home}/log/asterisk.out"), self.log):
            if path.exists():
                texts.append(" | ".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return " || ".join(texts) or "(no output)"

    def _asterisk(self) -> list[str]:
        return [
            "chroot",
            str(self.root),
            "/usr/sbin/asterisk",
            "-C",
            f"{self.home}/etc/asterisk.conf",
        ]


def _in_use(port: int, *, udp: bool) -> bool:
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        # As Asterisk binds: a port whose last connections wait in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            return sock.recv(22).startswith(b"Asterisk Call Manager/")
    except OSError:
        return False


_ASTERISK_CONF = """\
[directories]
astetcdir => {home}/etc
astmoddir => /usr/lib/x86_64-linux-gnu/asterisk/modules
astvarlibdir => /var/lib/asterisk
astdbdir => {home}/db
astkeydir => /var/lib/asterisk
astdatadir => /usr/share/asterisk
astagidir => /usr/share/asterisk/agi-bin
astspooldir => {home}/spool
astrundir => {home}/run
astlogdir => {home}/log
astcachedir => {home}/cache
astsbindir => /usr/sbin

[options]
verbose = 3
hideconnect = yes
; The far end of the loop-back carrier is this same Asterisk: like a real phone it must send
; audio while it is silent, or the caller's answering-machine detection hears nothing.
transmit_silence = yes
"""

# The owner loads everything, less what would bind ports of its own or needs a database.
_MODULES_CONF = """\
[modules]
autoload = yes
noload => chan_iax2.so
noload => chan_unistim.so
noload => chan_motif.so
noload => chan_console.so
noload => pbx_dundi.so
noload => res_hep.so
noload => res_hep_pjsip.so
noload => res_hep_rtcp.so
noload => res_phoneprov.so
noload => res_pjsip_phoneprov_provider.so
noload => res_config_ldap.so
noload => res_config_pgsql.so
noload => res_config_odbc.so
noload => res_odbc.so
noload => res_odbc_transaction.so
noload => cdr_odbc.so
noload => cdr_adaptive_odbc.so
noload => cdr_pgsql.so
noload => cdr_tds.so
noload => cdr_radius.so
noload => cel_odbc.so
noload => cel_pgsql.so
noload => cel_tds.so
noload => cel_radius.so
noload => app_voicemail_odbc.so
noload => func_odbc.so
noload => res_calendar.so
noload => res_xmpp.so
noload => res_smdi.so
noload => res_prometheus.so
noload => res_stir_shaken.so
noload => res_pjsip_stir_shaken.so
"""

_LOGGER_CONF = """\
[logfiles]
console => error
messages => notice,warning,error,verbose
"""

_MANAGER_CONF = """\
[general]
enabled = yes
port = {port}
bindaddr = 127.0.0.1

; The owner's own AMI user.
[admin]
secret = {secret}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = all
write = all
"""

_EXTENSIONS_CONF = """\
[general]
static = yes
writeprotect = no

[globals]
OWNER_NAME = Example Dental Group

[from-internal]
; The owner's own phones.
exten => 100,1,Answer()
 same => n,Playback(demo-congrats)
 same => n,Hangup()

[from-carrier]
; Calls from the loop-back carrier: a person answers, greets, listens, says goodbye.
exten => _+X.,1,Answer()
 same => n,Set(TIMEOUT(absolute)=60)
 same => n,Playback({sounds}/hello)
 same => n,Wait(1.2)
 same => n,Playback({sounds}/anna-greeting)
 same => n,WaitForNoise(300,1,8)
 same => n,WaitForSilence(1200,1,20)
 same => n,Playback({sounds}/anna-booked)
 same => n,Wait(1)
 same => n,Hangup(16)
"""

_PJSIP_CONF = """\
[transport-udp]
type = transport
protocol = udp
bind = 127.0.0.1:{port}
"""

_RTP_CONF = """\
[general]
rtpstart = 31000
rtpend = 31999
"""

_AMD_CONF = """\
[general]
initial_silence = 2500
greeting = 1500
after_greeting_silence = 800
total_analysis_time = 5000
"""
