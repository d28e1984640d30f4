"""The graphs as a part of `opendeep serve`: opens the checkpointer, holds the `GraphRunner`."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from core.db import Database
from core.settings import Settings

if TYPE_CHECKING:
    from graphs.runner import Analysis, GraphRunner


class GraphsNotStarted(RuntimeError):
    pass


class GraphsPart:
    name = "graphs"

    def __init__(self, settings: Settings, db: Database) -> None:
        self._settings = settings
        self._db = db
        self._stack = contextlib.AsyncExitStack()
        self._runner: GraphRunner | None = None

    @property
    def runner(self) -> GraphRunner:
        if self._runner is None:
            raise GraphsNotStarted("the agent graphs are not running")
        return self._runner

    def describe(self) -> str:
        where = "PostgreSQL" if self._settings.is_postgres else "SQLite"
        mode = "" if self._settings.has_openai else " — rehearsal models (no OPENAI_API_KEY)"
        return f"agent graphs ready, checkpoints in {where}{mode}"

    async def start(self) -> None:
        from graphs.runner import GraphRunner

        self._runner = await self._stack.enter_async_context(
            GraphRunner.open(self._db, self._settings)
        )

    async def stop(self) -> None:
        self._runner = None
        await self._stack.aclose()

    async def analyze_call(self, user_id: int, call_id: int) -> Analysis:
        return await self.runner.analyze_call(user_id, call_id)

    async def lifecycle_pass(self, user_id: int) -> None:
        """One lifecycle-manager pass over one user's campaigns."""
        await self.runner.lifecycle_pass(user_id)

    async def lifecycle_pass_all(self) -> None:
        """One lifecycle-manager pass for every user with campaigns still running."""
        async with self._db.system() as system:
            users = await system.users_with_open_campaigns()
        for user_id in users:
            await self.runner.lifecycle_pass(user_id)
