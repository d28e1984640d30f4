"""The `Database`: one engine, and the doors to it — a user's scope, accounts, node operations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.db.engine import make_engine, make_session_factory
from core.db.scoped import UserScope
from core.db.sign_in import SignInRecords
from core.db.system import SystemOps
from core.db.users import UserDirectory


class Database:
    """Owns the async engine. Each `async with` block is one transaction, committed on exit."""

    def __init__(self, url: str, *, engine: AsyncEngine | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
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
