"""The PostgreSQL checkpointer outlives its server dropping every connection (a restart)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from core.settings import Settings
from graphs.checkpoint import open_checkpointer, postgres_conninfo


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_connections_dropped_by_the_server_are_replaced_at_once(settings: Settings) -> None:
    """Every pooled connection dies at once, as in a server restart: the next graph read gets
    a fresh connection — not an error, and not after the pool's own backoff (1 + 2 + 4 … s
    for its four idle connections, found dead one by one)."""
    thread = {"configurable": {"thread_id": "inst:x:user:1:call:1", "checkpoint_ns": ""}}
    async with open_checkpointer(settings) as saver:
        assert await saver.aget_tuple(thread) is None
        conninfo = postgres_conninfo(settings.database_url)
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as admin:
            killed = await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert len(await killed.fetchall()) >= 1
        async with asyncio.timeout(3):
            assert await saver.aget_tuple(thread) is None
