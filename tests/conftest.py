"""Shared fixtures: a fresh, migrated database on SQLite and on PostgreSQL, two users, the
development PBX; and the end-of-run count of what was not tested."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core.db import Database
from core.db.migrate import upgrade
from tests.kit import IN_CI, make_user, not_tested
from tests.kit.devpbx import DevPbx, require_devpbx

PG_ENV = "OPENDEEP_TEST_POSTGRES_URL"


def postgres_admin_url() -> str | None:
    """A PostgreSQL URL (any database) with rights to create databases, or None."""
    return os.environ.get(PG_ENV) or None


def require_postgres() -> str:
    url = postgres_admin_url()
    if url:
        return url
    not_tested(
        "ON POSTGRESQL",
        f"PostgreSQL tests need {PG_ENV}=postgresql://USER:PASS@127.0.0.1/DB",
        "`make test` starts a server and sets it",
    )


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """One throw-away PostgreSQL database for the whole test session."""
    admin = require_postgres()
    name = f"opendeep_test_{uuid.uuid4().hex[:10]}"
    sync_admin = admin.replace("postgresql://", "postgresql+psycopg://", 1)
    # pre_ping: the fault tests restart the server; its end-of-run DROP must not meet a dead
    # connection.
    engine = create_engine(sync_admin, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = sync_admin.rpartition("/")
    yield f"{base}/{name}"
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database URL — the same test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'opendeep.db'}"
    else:
        url = request.getfixturevalue("pg_database")
        _reset_postgres(url)
    upgrade(url)
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def two_users(db: Database) -> tuple[int, int]:
    return await make_user(db, "alice"), await make_user(db, "bob")


@pytest.fixture(scope="session")
def devpbx() -> DevPbx:
    """The running development PBX (started when root); NOT TESTED by hand, failed in CI."""
    return require_devpbx()


# --- what was not tested --------------------------------------------------------------------
# A skipped test is an untested part. `make test` prints how many there were and why; in CI
# (CI=true) any skip fails the run, so a missing server or browser can never pass unnoticed.

_SKIPPED: list[tuple[str, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = (
            str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        )
        _SKIPPED.append((report.nodeid, reason.removeprefix("Skipped: ")))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    reasons: dict[str, int] = {}
    for _, reason in _SKIPPED:
        reasons[reason] = reasons.get(reason, 0) + 1
    terminalreporter.write_sep("=", f"NOT TESTED: {len(_SKIPPED)} test(s) skipped")
    for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"  {count:4d} × {reason}")
    if _SKIPPED and IN_CI:
        terminalreporter.write_line("CI runs every test: a skip fails the run (see above).")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SKIPPED and IN_CI and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
