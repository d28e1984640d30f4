"""the owner's own phone number

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09

`users.owner_phone`: the number (E.164) where a user takes a call over — what *Call me in* and
the agent's `transfer_to_owner` ring. Rows from before hold NULL: no number is set, and a call
of theirs cannot be handed over until they set one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("owner_phone", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("owner_phone")
