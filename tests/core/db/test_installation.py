"""The installation id: one per database, made once, the same for every reader, forever."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, func, select, text
from sqlalchemy.engine import make_url

from core.db import Database
from core.db.migrate import upgrade
from core.db.models import Installation


@pytest.fixture
def another_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A second fresh, migrated database on the same backend (and server) as `database_url`."""
    if database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'another.db'}"
        upgrade(url)
        yield url
        return
    server = make_url(database_url)
    name = f"{server.database}_another"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    try:
        with admin.connect() as conn:
            conn.execute(drop)
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = server.set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
        with admin.connect() as conn:
            conn.execute(drop)
    finally:
        admin.dispose()


async def _installation_id(url: str) -> uuid.UUID:
    """Read as a node starting up would: its own `Database`, its own connections."""
    db = Database(url)
    try:
        async with db.system() as system:
            return await system.installation_id()
    finally:
        await db.dispose()


async def test_a_database_keeps_one_id(db: Database) -> None:
    async with db.system() as system:
        first = await system.installation_id()
    async with db.system() as system:
        assert await system.installation_id() == first
    assert await _installation_id(db.url) == first  # another node of the same database
    assert first.version == 4  # random, not derived from anything


async def test_two_databases_have_two_ids(db: Database, another_database_url: str) -> None:
    ours = await _installation_id(db.url)
    theirs = await _installation_id(another_database_url)
    assert ours != theirs


async def test_a_missing_row_is_made_once_whoever_reads_first(db: Database) -> None:
    """Readers racing to create a missing id all get the one stored, and one row is stored."""
    async with db.engine.begin() as conn:
        await conn.execute(delete(Installation))
    readers = await asyncio.gather(*(_installation_id(db.url) for _ in range(6)))
    assert len(set(readers)) == 1
    async with db.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(Installation))).scalar() == 1
    assert await _installation_id(db.url) == readers[0]
