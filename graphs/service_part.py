"""The graphs as a part of `opendeep serve`: opens the checkpointer, holds the `GraphRunner`."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from agents.prompts import preload_prompts
from core.db import Database
from core.logging import get_logger
from core.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from graphs.runner import Analysis, GraphRunner

log = get_logger("opendeep.graphs")


class GraphsNotStarted(RuntimeError):
    pass


class GraphsPart:
    name = "graphs"

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        models: Mapping[str, BaseChatModel] | None = None,
    ) -> None:
        """`models`: chat models by purpose that the graphs use instead of the settings' specs
        (a scripted analyzer in a rehearsal or a test)."""
        self._settings = settings
        self._db = db
        self._clock = clock
        self._models = models
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

        # Every agent's prompt files, the call agent's included, read once and off the event
        # loop: no graph run and no call waits on the disk for them.
        await asyncio.to_thread(preload_prompts)
        self._runner = await self._stack.enter_async_context(
            GraphRunner.open(self._db, self._settings, clock=self._clock, models=self._models)
        )

    async def stop(self) -> None:
        self._runner = None
        await self._stack.aclose()

    async def analyze_call(self, user_id: int, call_id: int) -> Analysis:
        return await self.runner.analyze_call(user_id, call_id)

    async def lifecycle_pass(self, user_id: int) -> None:
        """One lifecycle-manager pass over one user's campaigns."""
        await self.runner.lifecycle_pass(user_id)

    async def lifecycle_pass_all(self) -> list[int]:
        """One lifecycle-manager pass for every user with campaigns still running.

        A user's pass that fails is logged with its user and the round goes on to the next
        user; returns the ids of the users whose pass failed.
        """
        async with self._db.system() as system:
            users = await system.users_with_open_campaigns()
        failed: list[int] = []
        for user_id in users:
            try:
                await self.runner.lifecycle_pass(user_id)
            except Exception:
                log.exception("lifecycle pass failed; the next user's goes on", user_id=user_id)
                failed.append(user_id)
        return failed
