"""installation id

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

One row naming this database, made here so that every upgraded database has it. The
telephony derives its Asterisk channel ids from it: a downgrade past this revision and a new
upgrade give the database a new id, and with it new ids for every past attempt.
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    installation = op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("installation_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_installation_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    op.bulk_insert(
        installation,
        [{"id": 1, "installation_id": uuid.uuid4(), "created_at": core.db.types.utcnow()}],
    )


def downgrade() -> None:
    op.drop_table("installation")
