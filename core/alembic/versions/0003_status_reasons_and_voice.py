"""why a campaign is not dialling, why a call ended, which voice carried it

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

`campaigns.status_reason`: one line the owner reads on the campaign when it does not dial (the
voice cannot start, dialling paused after repeated technical failures). `calls.end_reason`: why
a call ended when it was not the conversation's own end (e.g. the bridge failed).
`calls.voice`: the voice that carried the call ("rehearsal" for the local scripted voice, else
the Realtime model), so every view can label a rehearsal as such.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("end_reason", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("voice", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("voice")
        batch.drop_column("end_reason")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("status_reason")
