"""a campaign's own caller ID

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-22

`campaigns.caller_id`: the number this campaign's calls show (E.164, one of the node's
CALLER_ID_CHOICES), over its owner's and the node's; NULL: theirs.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("caller_id", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("caller_id")
