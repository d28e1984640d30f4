"""The development PBX (`asterisk/devpbx`) for the tests that place calls on it.

One policy for every such test: `require_devpbx()` makes sure the PBX runs (`asterisk/devpbx
up` when this process is root, which is fast when it already runs) and returns how to reach
it. When it cannot be used — no root to start it, `up` failed, no AMI secret, nothing on the
AMI port — the test is skipped as NOT TESTED with how to enable it, and fails in CI.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from core.settings import Settings, SettingsError, load_settings
from tests.kit.missing import IN_CI, not_tested

PROJECT = Path(__file__).resolve().parents[2]
DEVPBX = PROJECT / "asterisk" / "devpbx"
ENABLE = "run `sudo asterisk/devpbx up` (or `make test` as root), then the tests again"


@dataclass(frozen=True)
class DevPbx:
    """How to reach the running development PBX."""

    settings: Settings  # the project's settings: its AMI address and secret
    spool: Path  # Asterisk's spool as this machine sees it (recordings/, callee/)

    @property
    def ami_host(self) -> str:
        return self.settings.ami_host

    @property
    def ami_port(self) -> int:
        return self.settings.ami_port

    @property
    def ami_username(self) -> str:
        return self.settings.ami_username

    @property
    def ami_secret(self) -> str:
        return self.settings.ami_secret.get_secret_value()


def unavailable(reason: str, *, in_ci: bool = IN_CI) -> NoReturn:
    """The policy: skip as NOT TESTED (by hand) or fail (in CI) — never anything else."""
    not_tested("AGAINST ASTERISK", reason, ENABLE, in_ci=in_ci)


def require_devpbx() -> DevPbx:
    """The running development PBX, or skip (fail in CI) saying why and how to enable it."""
    found = _probe()
    if isinstance(found, str):
        unavailable(found)
    return found


def require_pbx_root() -> Path:
    """The development PBX's root (built when missing), for a test that runs an Asterisk of
    its own in it; or skip (fail in CI) saying why and how to enable it."""
    if os.geteuid() != 0:
        not_tested(
            "AGAINST ASTERISK",
            "an Asterisk in the devpbx root needs root (chroot)",
            "run the tests as root (`make test` in CI does)",
        )
    try:
        build = devpbx("build", timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        unavailable(f"`asterisk/devpbx build` could not be run: {exc}")
    if build.returncode != 0:
        unavailable("`asterisk/devpbx build` failed: " + _tail(build))
    # devpbx runs in the project, so a relative DEVPBX_ROOT is the project's.
    return (PROJECT / os.environ.get("DEVPBX_ROOT", ".devpbx/root")).resolve()


def devpbx(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run `asterisk/devpbx ARGS` in the project; its output is returned, never raised."""
    return subprocess.run(
        [str(DEVPBX), *args],
        cwd=PROJECT,
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def devpbx_cli(command: str) -> str:
    result = devpbx("cli", command)
    return result.stdout + result.stderr


@functools.cache
def _probe() -> DevPbx | str:
    """Once per test session: the PBX, or why it cannot be used."""
    if not DEVPBX.exists():
        return f"{DEVPBX} is missing"
    try:
        if os.geteuid() == 0:
            up = devpbx("up", timeout=900)
            if up.returncode != 0:
                return "`asterisk/devpbx up` failed: " + _tail(up)
        else:
            status = devpbx("status")
            if status.returncode != 0:
                return "the development PBX is not running and only root can start it"
        exports = _exports(devpbx("env").stdout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`asterisk/devpbx` could not be run: {exc}"
    if "DEVPBX_SPOOL" not in exports:
        return "`asterisk/devpbx env` printed no DEVPBX_SPOOL"
    try:
        with contextlib.chdir(PROJECT):  # .env and data/secrets/ are relative to the project
            settings = load_settings()
    except SettingsError as exc:
        return str(exc)
    if not settings.ami_secret.get_secret_value():
        return "no AMI secret (data/secrets/ami_secret is written by `asterisk/devpbx up`)"
    with socket.socket() as sock:
        sock.settimeout(2)
        if sock.connect_ex((settings.ami_host, settings.ami_port)) != 0:
            return f"nothing listens on AMI {settings.ami_host}:{settings.ami_port}"
    return DevPbx(settings, Path(exports["DEVPBX_SPOOL"]))


def _exports(env: str) -> dict[str, str]:
    pairs = (
        shlex.split(line.removeprefix("export "))[0].split("=", 1)
        for line in env.splitlines()
        if line.startswith("export ")
    )
    return {name: value for name, value in pairs}


def _tail(result: subprocess.CompletedProcess[str], lines: int = 5) -> str:
    return " | ".join((result.stdout + result.stderr).strip().splitlines()[-lines:])
