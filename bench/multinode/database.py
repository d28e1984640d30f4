"""The benchmark's PostgreSQL database: created fresh, migrated, seeded, read back, dropped.

Seeding goes through OpenDeep's own repositories (users, campaigns, tasks), as the
orchestrator would. Tasks are seeded not yet due (`PARKED`) and released all at once with
`release()`, once every node runs, so the run starts at one instant for all of them.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.db import Database
from core.domain import CampaignStatus, StopRule
from core.phone import time_zones
from core.settings import load_settings
from telephony.channel_ids import call_namespace

# Answered and hung up at once inside the Local channel ([opendeep-outbound], see
# asterisk/templates/extensions.conf.in). A campaign may hold each number once.
BENCH_NUMBERS = tuple(f"+121255501{n}" for n in range(50, 90))
PARKED = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
ENDED_STATUSES = ("completed", "failed", "cancelled", "on_hold")


@dataclass(frozen=True, slots=True)
class Seeded:
    users: int
    campaigns: int
    task_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TaskRow:
    id: int
    user_id: int
    status: str
    attempts: int
    last_outcome: str | None
    claimed_by: str | None


@dataclass(frozen=True, slots=True)
class CallRow:
    task_id: int
    attempt: int
    call_uuid: str
    node_id: str | None
    state: str
    outcome: str | None


def _sync(url: str) -> str:
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(False)


def _admin_execute(admin_url: str, statement: str) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE cannot run inside one)."""
    engine = create_engine(_sync(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def create_database(admin_url: str) -> str:
    """A new, empty database on the server of `admin_url`; returns its SQLAlchemy URL."""
    name = f"opendeep_bench_{time.strftime('%Y%m%d_%H%M%S')}_{secrets.token_hex(3)}"
    _admin_execute(admin_url, f'CREATE DATABASE "{name}"')
    return make_url(_sync(admin_url)).set(database=name).render_as_string(False)


def drop_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    _admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def prepare_checkpoints(url: str) -> None:
    """Create LangGraph's checkpoint tables once, so that the nodes starting together do not
    race each other through `AsyncPostgresSaver.setup()` on an empty database."""
    from graphs.checkpoint import open_checkpointer

    async with open_checkpointer(load_settings(database_url=url)):
        pass


async def channel_namespace(db: Database) -> uuid.UUID:
    """The namespace of the nodes' channel ids: their installation's, read as they read it."""
    async with db.system() as system:
        return call_namespace(await system.installation_id())


async def seed(db: Database, *, tasks: int, users: int) -> Seeded:
    """`users` users with campaigns of up to 40 tasks each (one per bench number), all active,
    one attempt per task, no recording. Tasks are added round-robin over the campaigns, so
    consecutive task ids (the order of claims) belong to different users.
    """
    per_campaign = math.ceil(tasks / max(users, math.ceil(tasks / len(BENCH_NUMBERS))))
    campaigns = math.ceil(tasks / per_campaign)
    zones = time_zones(BENCH_NUMBERS[0])
    async with db.users() as directory:
        user_ids = [
            await directory.add(f"bench{i:02d}", secrets.token_urlsafe(16), display_name="Bench")
            for i in range(min(users, campaigns))
        ]
    campaign_users: list[tuple[int, int]] = []
    for c in range(campaigns):
        user_id = user_ids[c % len(user_ids)]
        async with db.scope(user_id) as scope:
            campaign = await scope.campaigns.create(
                idempotency_key=f"bench-{uuid.uuid4().hex}",
                name=f"Bench campaign {c + 1}",
                objective="Answer-and-hang-up load test",
                status=CampaignStatus.ACTIVE,
                stop_rule=StopRule.CALL_EVERYONE,
                max_attempts=1,
                recording=False,
            )
            campaign_users.append((user_id, campaign.id))
    task_ids: list[int] = []
    for i in range(tasks):
        user_id, campaign_id = campaign_users[i % campaigns]
        async with db.scope(user_id) as scope:
            task = await scope.tasks.add(
                campaign_id=campaign_id,
                target_name=f"Bench callee {i + 1}",
                phone_e164=BENCH_NUMBERS[i // campaigns],
                time_zones=zones,
                instructions="Say nothing; the callee hangs up at once.",
                due_at=PARKED,
                max_attempts=1,
            )
            task_ids.append(task.id)
    return Seeded(len(user_ids), campaigns, tuple(task_ids))


async def release(db: Database, at: dt.datetime) -> None:
    """Make every parked task due at `at`."""
    async with db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE tasks SET due_at = :at WHERE due_at = :parked"),
            {"at": at, "parked": PARKED},
        )


async def status_counts(db: Database) -> dict[str, int]:
    """Tasks by status, and claimed tasks by node (`claimed@<node>`)."""
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT status, claimed_by, count(*) FROM tasks GROUP BY status, claimed_by")
            )
        ).all()
    counts: dict[str, int] = {}
    for status, node, n in rows:
        counts[status] = counts.get(status, 0) + n
        if status == "claimed" and node:
            counts[f"claimed@{node}"] = n
    return counts


async def tasks(db: Database, ids: tuple[int, ...] | None = None) -> list[TaskRow]:
    query = "SELECT id, user_id, status, attempts, last_outcome, claimed_by FROM tasks"
    params: dict[str, object] = {}
    if ids is not None:
        query += " WHERE id = ANY(:ids)"
        params["ids"] = list(ids)
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text(query + " ORDER BY id"), params)).all()
    return [TaskRow(*row) for row in rows]


async def claimed_by(db: Database, node_id: str) -> list[TaskRow]:
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT id, user_id, status, attempts, last_outcome, claimed_by FROM tasks"
                    " WHERE status = 'claimed' AND claimed_by = :node ORDER BY id"
                ),
                {"node": node_id},
            )
        ).all()
    return [TaskRow(*row) for row in rows]


async def calls(db: Database) -> list[CallRow]:
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT task_id, attempt, call_uuid, node_id, state, outcome FROM calls"
                    " ORDER BY task_id, attempt"
                )
            )
        ).all()
    return [CallRow(*row) for row in rows]
