"""The faults, done from outside the node as an operator or the machine would do them:

- cutting one AMI session from Asterisk's side (`manager kick session <fd>`; the session's file
  descriptor inside Asterisk is found with `ss`, by the client's port);
- restarting Asterisk (`core restart now`);
- stopping and starting the PostgreSQL server the tests use (`tests/pgserver.sh stop`, `start`);
- the recordings folder as Asterisk writes it: a file in its place, or a full filesystem (a
  tiny tmpfs mounted over it and filled).

Each needs root (as the development PBX does); without it the test is NOT TESTED by hand and
fails in CI (`tests.kit.missing`).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.helpers import PROJECT
from tests.kit import not_tested
from tests.kit.devpbx import devpbx_cli

PGSERVER = PROJECT / "tests" / "pgserver.sh"
ENABLE = "run the tests as root (as `make test` does)"


def _need_root(what: str) -> None:
    if os.geteuid() != 0:
        not_tested(what, "doing this fault needs root", ENABLE)


# --- AMI -------------------------------------------------------------------------------------


def ami_session_fd(ami_port: int, client_port: int) -> int:
    """The file descriptor, inside Asterisk, of the AMI session whose client uses
    `client_port` (what `manager show connected` lists as FileDes)."""
    _need_root("CUTTING AN AMI SESSION")
    out = subprocess.run(
        [
            "ss",
            "-Htnp",
            "state",
            "established",
            f"( sport = :{ami_port} and dport = :{client_port} )",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    found = re.search(r'"asterisk",pid=\d+,fd=(\d+)', out)
    assert found, f"no Asterisk socket for the AMI session of client port {client_port}: {out!r}"
    return int(found.group(1))


def kick_ami_session(ami_port: int, client_port: int) -> str:
    """Asterisk closes that one AMI session (the others stay connected)."""
    fd = ami_session_fd(ami_port, client_port)
    return devpbx_cli(f"manager kick session {fd}")


# --- Asterisk --------------------------------------------------------------------------------


def restart_asterisk() -> str:
    """`core restart now`: every channel is hung up at once and Asterisk starts again."""
    _need_root("RESTARTING ASTERISK")
    return devpbx_cli("core restart now")


# --- PostgreSQL ------------------------------------------------------------------------------


class PgServer:
    """The PostgreSQL server at `url`, stopped and started with `tests/pgserver.sh` — NOT
    TESTED when it is not that script's own server (another one cannot be restarted here)."""

    def __init__(self, url: str) -> None:
        _need_root("RESTARTING POSTGRESQL")
        port = make_url(url).port or 5432
        folder = Path(os.environ.get("PGTEST_DIR") or PROJECT / ".pgtest")
        try:
            lines = (folder / "data" / "postmaster.pid").read_text().splitlines()
        except OSError:
            lines = []
        # postmaster.pid: the pid on line 1, the port on line 4.
        if len(lines) < 4 or lines[3].strip() != str(port):
            not_tested(
                "RESTARTING POSTGRESQL",
                f"the server at port {port} is not the one tests/pgserver.sh runs in {folder}",
                "let `make test` start it, or set PGTEST_DIR/PGTEST_PORT as for tests/pgserver.sh",
            )
        self._env = {**os.environ, "PGTEST_DIR": str(folder), "PGTEST_PORT": str(port)}

    def stop(self) -> None:
        """Stop fast: every connection is closed, and none can be opened until `start`."""
        self._run("stop")

    def start(self) -> None:
        self._run("start")

    def _run(self, step: str) -> None:
        subprocess.run(
            [str(PGSERVER), step],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )


# --- the recordings folder -------------------------------------------------------------------


@contextlib.contextmanager
def file_in_place_of(folder: Path) -> Iterator[None]:
    """A plain file where the folder was (the folder is set aside and put back after)."""
    _need_root("SPOILING THE RECORDINGS FOLDER")
    aside = folder.with_name(folder.name + ".set-aside-by-a-fault-test")
    _restore(folder, aside)  # a run killed before it put the folder back
    folder.rename(aside)
    try:
        folder.write_text("not a folder: a fault test put this file here\n")
        yield
    finally:
        _restore(folder, aside)


def _restore(folder: Path, aside: Path) -> None:
    if aside.is_dir():
        if folder.is_file():
            folder.unlink()
        elif folder.is_dir():
            shutil.rmtree(folder)
        aside.rename(folder)


@contextlib.contextmanager
def full_filesystem_over(folder: Path, size_kib: int = 64) -> Iterator[None]:
    """A `size_kib` tmpfs mounted over the folder and filled to the last byte, so a write there
    fails with ENOSPC (real, for root too); unmounted after."""
    _need_root("FILLING THE RECORDINGS FOLDER")
    subprocess.run(
        [
            "mount",
            "-t",
            "tmpfs",
            "-o",
            f"size={size_kib}k,mode=0755",
            "opendeep-fault",
            str(folder),
        ],
        check=True,
        capture_output=True,
    )
    try:
        with (folder / "filler").open("wb", buffering=0) as filler, contextlib.suppress(OSError):
            while True:
                filler.write(bytes(4096))
        yield
    finally:
        done = subprocess.run(["umount", str(folder)], check=False, capture_output=True)
        if done.returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)
