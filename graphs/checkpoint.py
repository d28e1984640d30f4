"""Where graph checkpoints live: beside the data.

SQLite (the default): an `AsyncSqliteSaver` on `checkpoints.db` in the folder of the SQLite
database file (the app's own file stays SQLAlchemy's alone, so the two never contend for its
write lock). PostgreSQL (`DATABASE_URL` points there): an `AsyncPostgresSaver` on a small pool
in the same database, its tables created by `setup()` once when opened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url

from core.settings import Settings

CHECKPOINT_FILE = "checkpoints.db"
POOL_MAX = 8
POOL_TIMEOUT_S = 30.0


def postgres_conninfo(database_url: str) -> str:
    """The SQLAlchemy URL as libpq wants it (`postgresql://…`, no `+psycopg` driver suffix)."""
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def sqlite_checkpoint_path(settings: Settings) -> Path:
    """`checkpoints.db` next to the SQLite database file (or in the data folder)."""
    database = make_url(settings.database_url).database
    if database and database != ":memory:":
        return Path(database).expanduser().resolve().parent / CHECKPOINT_FILE
    return settings.data_dir / CHECKPOINT_FILE


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[str]]:
    """The checkpointer for these settings, open for the duration of the block."""
    if settings.is_postgres:
        async with AsyncConnectionPool(
            postgres_conninfo(settings.database_url),
            max_size=POOL_MAX,
            timeout=POOL_TIMEOUT_S,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            open=False,
        ) as pool:
            pg_saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
            await pg_saver.setup()
            yield pg_saver
        return
    path = sqlite_checkpoint_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(str(path)) as conn:
        saver = AsyncSqliteSaver(conn)
        await saver.setup()
        yield saver
