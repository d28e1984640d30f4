"""Async engine and session factory for SQLite (aiosqlite) and PostgreSQL (psycopg 3).

A PostgreSQL engine may open its connections patiently (`connect_wait_s`): while the server
cannot be reached — restarting, failing over, a network blip — opening one is tried again,
backing off, until the server answers or the wait is over. A running node then rides out a
restart of its database: what it wanted to do meanwhile waits instead of failing, and the pool
drops the connections the restart killed as it lends them (`pool_pre_ping`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from core.logging import get_logger

log = get_logger("opendeep.db")

# How long a node's database operation waits for a PostgreSQL server it cannot reach.
CONNECT_WAIT_S = 30.0
FIRST_RETRY_S = 0.1
MAX_RETRY_S = 2.0

Connect = Callable[[], Awaitable[Any]]
Sleep = Callable[[float], Awaitable[None]]


def make_engine(database_url: str, *, connect_wait_s: float = 0.0, **kwargs: Any) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, a busy timeout and enforced foreign keys.

    `connect_wait_s` (PostgreSQL): how long opening a connection keeps trying while the server
    cannot be reached; 0 fails at once."""
    if database_url.startswith("sqlite"):
        _ensure_sqlite_dir(database_url)
        engine = create_async_engine(database_url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    if connect_wait_s > 0:
        import psycopg

        conninfo = make_url(database_url).set(drivername="postgresql")
        target = conninfo.render_as_string(hide_password=False)
        where = f"{conninfo.host or 'localhost'}:{conninfo.port or 5432}"

        async def connect() -> Any:
            return await psycopg.AsyncConnection.connect(target)

        kwargs["async_creator"] = patient(
            connect, wait_s=connect_wait_s, retry_on=psycopg.OperationalError, where=where
        )
    return create_async_engine(database_url, pool_pre_ping=True, **kwargs)


def patient(
    connect: Connect,
    *,
    wait_s: float,
    retry_on: type[Exception],
    where: str,
    sleep: Sleep = asyncio.sleep,
) -> Connect:
    """`connect`, tried again while it fails with `retry_on`, backing off from
    `FIRST_RETRY_S` to `MAX_RETRY_S` between tries, for up to `wait_s` seconds in all; then
    the last error is raised. One warning per wait."""

    async def connect_patiently() -> Any:
        delay, waited = FIRST_RETRY_S, 0.0
        while True:
            try:
                return await connect()
            except retry_on as exc:
                if waited + delay > wait_s:
                    raise
                if waited == 0:
                    log.warning(
                        "database unreachable; waiting for it",
                        address=where,
                        wait_s=wait_s,
                        error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                    )
                await sleep(delay)
                waited += delay
                delay = min(delay * 2, MAX_RETRY_S)

    return connect_patiently


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _ensure_sqlite_dir(database_url: str) -> None:
    from pathlib import Path

    path = make_url(database_url).database
    if path and path != ":memory:":
        Path(path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
