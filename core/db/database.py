"""The `Database`: one engine, and the doors to it — a user's scope, accounts, node operations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.db.engine import CONNECT_WAIT_S, make_engine, make_session_factory
from core.db.scoped import UserScope
from core.db.sign_in import SignInRecords
from core.db.system import SystemOps
from core.db.users import UserDirectory
from core.logging import get_logger

log = get_logger("opendeep.db")

T = TypeVar("T")


class Database:
    """Owns the async engine. Each `async with` block is one transaction, committed on exit.

    On PostgreSQL a new connection waits up to `connect_wait_s` for a server it cannot reach
    (a restart), so work started meanwhile is done once the server is back; 0 fails at once
    (what a one-off check such as the doctor wants)."""

    def __init__(
        self,
        url: str,
        *,
        engine: AsyncEngine | None = None,
        connect_wait_s: float = CONNECT_WAIT_S,
    ) -> None:
        self.url = url
        self.engine = engine or make_engine(url, connect_wait_s=connect_wait_s)
        self._sessions = make_session_factory(self.engine)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def scope(self, user_id: int) -> AsyncIterator[UserScope]:
        """One user's data, in one transaction."""
        async with self._transaction() as session:
            yield UserScope(session, user_id)

    @asynccontextmanager
    async def users(self) -> AsyncIterator[UserDirectory]:
        async with self._transaction() as session:
            yield UserDirectory(session)

    @asynccontextmanager
    async def sign_in(self) -> AsyncIterator[SignInRecords]:
        """Failed sign-ins and browser sessions, in one transaction."""
        async with self._transaction() as session:
            yield SignInRecords(session)

    @asynccontextmanager
    async def system(self) -> AsyncIterator[SystemOps]:
        async with self._transaction() as session:
            yield SystemOps(session)

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


async def rerun_if_connection_lost(transaction: Callable[[], Awaitable[T]], what: str) -> T:
    """Run `transaction` (one whole `Database` block); when the connection died under it — the
    server restarted or went away — run it once more: the new connection waits for the server.
    A transaction cut off at its commit may have been stored already: only idempotent writes,
    or ones whose loss is worse than a repeat, belong here."""
    try:
        return await transaction()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.warning("database connection lost; running the transaction again", what=what)
        return await transaction()
