"""Alembic: upgrade, downgrade, and the models agree with the migrations."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from core.db.migrate import current, downgrade, head, upgrade
from core.db.models import Base

TABLES = {"users", "campaigns", "tasks", "calls", "dnd_list", "feedback_requests"}


def _sync(url: str) -> str:
    return url.replace("+aiosqlite", "")


def _tables(url: str) -> set[str]:
    engine = create_engine(_sync(url))
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    assert current(database_url) == head()
    assert _tables(database_url) >= TABLES
    downgrade(database_url, "base")
    assert current(database_url) is None
    assert _tables(database_url) & TABLES == set()
    upgrade(database_url)
    assert current(database_url) == head()
    assert _tables(database_url) >= TABLES


def test_models_match_the_migrations(database_url: str) -> None:
    engine = create_engine(_sync(database_url))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_due_task_query_has_its_index(database_url: str) -> None:
    engine = create_engine(_sync(database_url))
    try:
        indexes = {tuple(ix["column_names"]) for ix in inspect(engine).get_indexes("tasks")}
    finally:
        engine.dispose()
    assert ("status", "due_at") in indexes
