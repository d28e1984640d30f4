"""The run context every node gets: whose data, the database, settings, clock and models.

It is LangGraph's `context_schema`, so callers pass it per run (`graph.ainvoke(..., context=…)`)
and Studio can fill its plain fields (user id, thresholds) from the assistant's context. Clients
are never module globals: a node reaches the database and models only through this object.
When Studio leaves the clients empty, they are made from the settings on first use.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache

from langchain_core.language_models import BaseChatModel
from langgraph.config import get_config
from langgraph.runtime import Runtime
from pydantic import ConfigDict
from pydantic.json_schema import SkipJsonSchema

from agents.models import Purpose, load_chat_model, model_spec
from agents.prompts import preload_prompts
from core.db import Database, utcnow
from core.settings import Settings, load_settings
from graphs.threads import ThreadAccessDenied, check_thread_owner, parse_thread_id


@lru_cache(maxsize=1)
def _studio_settings() -> Settings:
    return load_settings()


@lru_cache(maxsize=4)
def _studio_database(url: str) -> Database:
    # Only for runs whose context brought no database (LangGraph Studio): one engine per URL.
    return Database(url)


@dataclass(kw_only=True)
class GraphContext:
    """Run-time knobs and clients of the OpenDeep graphs."""

    __pydantic_config__ = ConfigDict(arbitrary_types_allowed=True)

    user_id: int = field(
        default=0, metadata={"description": "The user whose data this run reads and changes."}
    )
    prompt_version: str = field(
        default="v1", metadata={"description": "Prompt folder to use (agents/<agent>/prompts/)."}
    )
    review_threshold: float = field(
        default=0.6,
        metadata={"description": "Analyses less confident than this go to the owner."},
    )
    check_in_after_hours: float = field(
        default=48.0,
        metadata={"description": "Ask the owner about a campaign running longer than this."},
    )
    settings: SkipJsonSchema[Settings | None] = None
    db: SkipJsonSchema[Database | None] = None
    # The database's installation id, which every thread id of ours carries (read from the
    # database when the caller did not pass it).
    installation_id: SkipJsonSchema[uuid.UUID | None] = None
    clock: SkipJsonSchema[Callable[[], dt.datetime] | None] = None
    models: SkipJsonSchema[Mapping[str, BaseChatModel] | None] = None

    def get_settings(self) -> Settings:
        if self.settings is None:
            raise RuntimeError("the context has no settings (use `await context_of(runtime)`)")
        return self.settings

    def get_db(self) -> Database:
        if self.db is None:
            raise RuntimeError("the context has no database (use `await context_of(runtime)`)")
        return self.db

    def now(self) -> dt.datetime:
        """The current time from the context's clock (aware, UTC)."""
        value = (self.clock or utcnow)()
        if value.tzinfo is None:
            raise ValueError("the context clock must return aware datetimes")
        return value.astimezone(dt.UTC)

    async def model(self, purpose: Purpose) -> BaseChatModel:
        """The chat model for `purpose`: an override from `models`, else from the settings."""
        if self.models and purpose in self.models:
            return self.models[purpose]
        settings = self.get_settings()
        # Building a client reads certificates from disk: keep it off the event loop.
        return await asyncio.to_thread(
            load_chat_model, model_spec(settings, purpose), settings, purpose=purpose
        )


async def context_of(runtime: Runtime[GraphContext]) -> GraphContext:
    """The run's context, checked (a user id is set and owns the thread) and complete.

    The thread must be the user's on this database's installation (LangGraph Studio's own UUID
    threads excepted). Clients the caller did not pass (Studio passes none) are made from the
    settings, off the event loop; prompt files are read once, likewise.
    """
    ctx = runtime.context if runtime.context is not None else GraphContext()
    if ctx.user_id <= 0:
        raise ThreadAccessDenied("this run has no user: set user_id in the run context")
    thread_id = (get_config().get("configurable") or {}).get("thread_id")
    ours = isinstance(thread_id, str) and parse_thread_id(thread_id) is not None
    if ctx.settings is None:
        ctx = replace(ctx, settings=await asyncio.to_thread(_studio_settings))
    if ctx.db is None:
        url = ctx.get_settings().database_url
        ctx = replace(ctx, db=await asyncio.to_thread(_studio_database, url))
    if ours and ctx.installation_id is None:
        async with ctx.get_db().system() as system:
            ctx = replace(ctx, installation_id=await system.installation_id())
    if isinstance(thread_id, str):
        check_thread_owner(
            thread_id, ctx.user_id, installation_id=ctx.installation_id, allow_foreign=True
        )
    await asyncio.to_thread(preload_prompts)
    return ctx


def run_thread_id() -> str:
    """The thread id of the run in progress (every OpenDeep run has one: it is checkpointed)."""
    thread_id = (get_config().get("configurable") or {}).get("thread_id")
    if not isinstance(thread_id, str) or not thread_id:
        raise ValueError("this graph must run on a thread (config.configurable.thread_id)")
    return thread_id
