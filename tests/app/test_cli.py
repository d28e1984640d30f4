"""The `opendeep` command, run as a user runs it (a real process)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

PLANTED = "planted-ami-secret-93b1"


def run(
    args: list[str], cwd: Path, *, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AMI_", "OPENAI", "GOOGLE", "DATABASE_URL", "APP_", "MAX_CONC"))
    }
    full_env.update({"AMI_PORT": "1", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=full_env,
        check=False,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def test_user_add_hashes_the_password(home: Path) -> None:
    result = run(
        ["user", "add", "Alice", "--password-stdin"], home, stdin="correct horse battery\n"
    )
    assert result.returncode == 0, result.stderr
    assert "user alice created" in result.stdout
    db = home / "data" / "opendeep.db"
    rows = sqlite3.connect(db).execute("select username, password_hash from users").fetchall()
    assert rows[0][0] == "alice" and rows[0][1].startswith("$argon2id$")
    raw = db.read_bytes() + b"".join(p.read_bytes() for p in (home / "data").glob("*"))
    assert b"correct horse battery" not in raw
    assert "correct horse battery" not in result.stdout + result.stderr

    again = run(["user", "add", "alice", "--password-stdin"], home, stdin="another password\n")
    assert again.returncode == 1
    assert again.stderr.strip().splitlines()[-1] == "error: a user named 'alice' already exists"
    assert "Traceback" not in again.stderr


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("bad name!", "long enough pw", "username 'bad name!' is not allowed"),
        ("bob", "short", "the password is too short"),
    ],
)
def test_user_add_bad_input_is_one_clear_line(
    home: Path, name: str, password: str, message: str
) -> None:
    result = run(["user", "add", name, "--password-stdin"], home, stdin=password + "\n")
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_bootstrap_creates_a_first_user_once(home: Path) -> None:
    first = run(["user", "bootstrap"], home)
    assert first.returncode == 0, first.stderr
    secret_file = home / "data" / "secrets" / "admin_password"
    assert secret_file.stat().st_mode & 0o077 == 0
    password = secret_file.read_text().strip()
    assert password not in first.stdout
    second = run(["user", "bootstrap"], home)
    assert second.returncode == 0 and secret_file.read_text().strip() == password


def test_doctor_says_what_is_missing_and_how_to_fix_it(home: Path) -> None:
    result = run(["doctor"], home, env={"AMI_SECRET": PLANTED, "AMI_PORT": "1"})
    out = result.stdout
    assert result.returncode == 1
    assert "[FAIL] database: schema is at nothing" in out and "opendeep db upgrade" in out
    assert "[FAIL] asterisk (AMI): nothing answers at 127.0.0.1:1" in out
    assert "asterisk/devpbx up" in out
    assert "[warn] OpenAI: OPENAI_API_KEY is not set" in out
    assert "[warn] voice: no OPENAI_API_KEY: calls get the scripted rehearsal voice" in out
    assert PLANTED not in out + result.stderr

    assert run(["db", "upgrade"], home).returncode == 0
    result = run(["doctor"], home)
    assert "[ok  ] database: reachable, schema at" in result.stdout


def test_doctor_says_when_the_voice_cannot_start(home: Path) -> None:
    result = run(["doctor"], home, env={"REALTIME_URL": "ws://127.0.0.1:1/v1"})
    assert result.returncode == 1
    assert "[FAIL] voice: REALTIME_URL ws://127.0.0.1:1/v1 cannot be reached (" in result.stdout
    assert "no call is dialled until the voice can start" in result.stdout
    keyed = run(
        ["doctor"],
        home,
        env={"OPENAI_API_KEY": "sk-planted-9f8e", "REALTIME_URL": "ws://127.0.0.1:1/v1"},
    )
    assert "[FAIL] voice: REALTIME_URL" in keyed.stdout
    assert "sk-planted-9f8e" not in keyed.stdout + keyed.stderr


def test_doctor_never_shows_a_database_password(home: Path) -> None:
    result = run(
        ["doctor"], home, env={"DATABASE_URL": "postgresql://od:pg-planted-pw@127.0.0.1:1/od"}
    )
    assert "[FAIL] database: cannot reach" in result.stdout
    assert "pg-planted-pw" not in result.stdout + result.stderr


def test_a_bad_setting_is_one_line_and_exit_2(home: Path) -> None:
    result = run(["doctor"], home, env={"MAX_CONCURRENT_CALLS": "lots"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: bad setting MAX_CONCURRENT_CALLS: Input should be a valid integer, "
        "unable to parse string as an integer"
    )


def test_help_lists_every_command(home: Path) -> None:
    out = run(["--help"], home).stdout
    for command in ("serve", "db", "user", "pbx", "doctor"):
        assert command in out


def test_user_passwd_changes_the_password_and_ends_every_session(home: Path) -> None:
    from argon2 import PasswordHasher

    assert (
        run(["user", "add", "alice", "--password-stdin"], home, stdin="first-password\n").returncode
        == 0
    )
    db = sqlite3.connect(home / "data" / "opendeep.db")
    with db:
        for token in ("t1", "t2"):
            db.execute(
                "insert into ui_sessions (token_hash, user_id, created_at, last_seen_at) "
                "values (?, 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                (token,),
            )
    result = run(["user", "passwd", "Alice", "--password-stdin"], home, stdin="second-password\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "password of alice changed; 2 session(s) ended"
    [(stored,)] = db.execute("select password_hash from users").fetchall()
    assert PasswordHasher().verify(stored, "second-password")
    assert db.execute("select count(*) from ui_sessions").fetchone() == (0,)
    assert "second-password" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("nobody", "long enough pw", "error: user 'nobody' not found"),
        ("alice", "short", "error: the password is too short: use at least 8 characters"),
    ],
)
def test_user_passwd_bad_input_is_one_clear_line(
    home: Path, name: str, password: str, message: str
) -> None:
    run(["user", "add", "alice", "--password-stdin"], home, stdin="first-password\n")
    result = run(["user", "passwd", name, "--password-stdin"], home, stdin=password + "\n")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == message
    assert "Traceback" not in result.stderr


def test_user_unlock_lifts_the_lock_on_a_name_and_an_address(home: Path) -> None:
    assert run(["db", "upgrade"], home).returncode == 0
    db = sqlite3.connect(home / "data" / "opendeep.db")
    with db:
        for key in ("user:alice", "addr:203.0.113.7"):
            db.execute(
                "insert into sign_in_throttle (key, failures, locks, locked_until, updated_at) "
                "values (?, 0, 3, '2026-01-01 01:00:00', '2026-01-01 00:00:00')",
                (key,),
            )
    result = run(["user", "unlock", "Alice"], home)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "unlocked alice"
    assert db.execute("select key from sign_in_throttle").fetchall() == [("addr:203.0.113.7",)]
    again = run(["user", "unlock", "alice", "--address", " 203.0.113.7"], home)
    assert again.stdout.strip() == "unlocked alice and 203.0.113.7"
    assert db.execute("select count(*) from sign_in_throttle").fetchone() == (0,)
    # A name that never failed, or does not exist, gets the same plain answer.
    nothing = run(["user", "unlock", "nobody"], home)
    assert nothing.returncode == 0
    assert nothing.stdout.strip() == "nobody: no failed sign-ins on record"


def test_pbx_install_writes_the_files_prints_the_includes_and_never_the_secret(
    home: Path,
) -> None:
    result = run(
        [
            "pbx",
            "install",
            "--dest",
            "out",
            "--opendeep-address",
            "192.168.1.50",
            "--trunk",
            "registering",
            "--sip-server",
            "sip.example.net",
            "--sip-username",
            "1001",
            "--sip-password-stdin",
        ],
        home,
        stdin="planted-sip-password\n",
        env={"AMI_SECRET": PLANTED, "PBX_TRUNK": "acme"},
    )
    assert result.returncode == 0, result.stderr
    out = home / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "opendeep_extensions.conf",
        "opendeep_manager.conf",
        "opendeep_pjsip.conf",
    ]
    assert "extensions.conf: #include opendeep_extensions.conf" in result.stdout
    assert "manager.conf: #include opendeep_manager.conf" in result.stdout
    assert "pjsip.conf: #include opendeep_pjsip.conf" in result.stdout
    assert 'asterisk -rx "core reload"' in result.stdout
    printed = result.stdout + result.stderr
    assert PLANTED not in printed and "planted-sip-password" not in printed
    assert PLANTED in (out / "opendeep_manager.conf").read_text()
    assert (out / "opendeep_manager.conf").stat().st_mode & 0o777 == 0o600
    assert "permit = 192.168.1.50/255.255.255.255" in (out / "opendeep_manager.conf").read_text()
    assert "password = planted-sip-password" in (out / "opendeep_pjsip.conf").read_text()


def test_pbx_install_for_freepbx_generates_a_secret_and_keeps_the_users_files(
    home: Path,
) -> None:
    etc = home / "etc"
    etc.mkdir()
    (etc / "extensions_custom.conf").write_text("[from-internal-custom]\nexten => 1,1,NoOp()\n")
    result = run(["pbx", "install", "--freepbx", "--dest", str(etc)], home)
    assert result.returncode == 1
    assert "not overwritten" in result.stderr and "extensions_custom.conf" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in etc.iterdir()) == ["extensions_custom.conf"]

    (etc / "extensions_custom.conf").unlink()
    result = run(["pbx", "install", "--freepbx", "--dest", str(etc)], home)
    assert result.returncode == 0, result.stderr
    assert "fwconsole reload" in result.stdout and "#include" not in result.stdout
    secret = (home / "data" / "secrets" / "ami_secret").read_text().strip()
    assert secret and secret in (etc / "manager_custom.conf").read_text()
    assert secret not in result.stdout + result.stderr
    assert sorted(p.name for p in etc.iterdir()) == [
        "extensions_custom.conf",
        "manager_custom.conf",
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--trunk", "sip"], "--trunk must be registering or ip"),
        (["--trunk", "ip"], "--sip-server"),
        (["--trunk", "registering", "--sip-server", "h"], "--sip-username"),
        (["--sip-server", "h"], "add --trunk"),
        (["--opendeep-address", "10.0.0.0/8"], "one IP address"),
    ],
)
def test_pbx_install_bad_input_is_one_clear_line(home: Path, args: list[str], says: str) -> None:
    result = run(["pbx", "install", "--dest", "out", *args], home, env={"AMI_SECRET": PLANTED})
    assert result.returncode in (1, 2)
    assert says in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
    assert not (home / "out").exists()
