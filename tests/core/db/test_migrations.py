"""Alembic: upgrade, downgrade, and the models agree with the migrations."""

from __future__ import annotations

import uuid

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

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


def _installation_rows(url: str) -> list[tuple[int, uuid.UUID]]:
    engine = create_engine(_sync(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, installation_id FROM installation")).all()
    finally:
        engine.dispose()
    # SQLite keeps the UUID as 32 hex digits, PostgreSQL as a uuid.
    return [(row[0], uuid.UUID(str(row[1]))) for row in rows]


def test_the_migration_names_the_installation(database_url: str) -> None:
    [(row, first)] = _installation_rows(database_url)
    assert row == 1
    assert first.version == 4
    downgrade(database_url, "0001")
    assert "installation" not in _tables(database_url)
    assert _tables(database_url) >= TABLES
    upgrade(database_url)
    # Made anew: a database rebuilt past this revision is another installation.
    [(_, second)] = _installation_rows(database_url)
    assert second != first


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
