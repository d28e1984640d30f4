"""Where graph checkpoints live: with the database they belong to.

SQLite (the default): an `AsyncSqliteSaver` on the database's own checkpoint file beside it,
`<database file name>.checkpoints.db` (`opendeep.db` → `opendeep.db.checkpoints.db`). A file of
its own keeps the app's file SQLAlchemy's alone, so the two never contend for its write lock;
named after the whole file name, two databases in one folder never share one, and
`rm opendeep.db*` removes it with the database. An in-memory database keeps its checkpoints in
memory: they end with it. PostgreSQL (`DATABASE_URL` points there): an `AsyncPostgresSaver` on
a small pool in the same database, its tables created by `setup()` once when opened; the pool
checks a connection before lending it, so it outlives a restart of the server.

Thread ids carry the database's installation id as well (`graphs.hitl`), for a checkpoint file
that outlives its database (one deleted and made again in the same folder).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url

from core.logging import get_logger
from core.settings import Settings

log = get_logger("opendeep.graphs.checkpoint")

CHECKPOINT_SUFFIX = ".checkpoints.db"
IN_MEMORY = ":memory:"
POOL_MAX = 8
POOL_TIMEOUT_S = 30.0


class ConnectionCheck:
    """The pool's `check`, run on a connection before it is lent.

    A dead connection means the server restarted and dropped them all; the pool alone finds
    them one borrower at a time, backing off 1, 2, 4, 8 s between them (an analysis waited 15 s).
    So the first dead one found has every idle connection checked at once (`pool.check()`,
    which replaces the dead ones), and the borrower's next try, a second later, gets a fresh one.
    """

    def __init__(self) -> None:
        self.pool: AsyncConnectionPool[Any] | None = None
        self._sweep: asyncio.Task[None] | None = None

    async def __call__(self, conn: Any) -> None:
        try:
            await AsyncConnectionPool.check_connection(conn)
        except Exception:
            if self.pool is not None and (self._sweep is None or self._sweep.done()):
                self._sweep = asyncio.create_task(
                    self._check_all(self.pool), name="checkpoint-pool-check"
                )
            raise

    @staticmethod
    async def _check_all(pool: AsyncConnectionPool[Any]) -> None:
        try:
            await pool.check()
        except Exception:  # the pool closing meanwhile; the borrowers' own checks go on
            log.warning("checking the checkpoint pool's connections failed", exc_info=True)


def postgres_conninfo(database_url: str) -> str:
    """The SQLAlchemy URL as libpq wants it (`postgresql://…`, no `+psycopg` driver suffix)."""
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def sqlite_checkpoint_path(settings: Settings) -> Path | None:
    """The SQLite database's checkpoint file (`<file name>.checkpoints.db` beside it), or None
    for an in-memory database."""
    database = make_url(settings.database_url).database
    if not database or database == IN_MEMORY:
        return None
    path = Path(database).expanduser().resolve()
    return path.with_name(path.name + CHECKPOINT_SUFFIX)


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[str]]:
    """The checkpointer for these settings, open for the duration of the block."""
    if settings.is_postgres:
        check = ConnectionCheck()
        async with AsyncConnectionPool(
            postgres_conninfo(settings.database_url),
            max_size=POOL_MAX,
            timeout=POOL_TIMEOUT_S,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            # A server restart closes every pooled connection: each is checked before it is
            # lent, so a dead one is replaced instead of failing the graph run (an analysis).
            check=check,
            open=False,
        ) as pool:
            check.pool = pool
            pg_saver = AsyncPostgresSaver(pool)
            await pg_saver.setup()
            yield pg_saver
        return
    path = sqlite_checkpoint_path(settings)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(str(path) if path else IN_MEMORY) as conn:
        saver = AsyncSqliteSaver(conn)
        await saver.setup()
        yield saver
