"""why a call has no recording

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

`calls.recording_problem`: why an answered call that was to be recorded has no recording to
play — the PBX's recordings folder full, not writable, not a folder, not visible from this
machine — in words for its owner, who reads it where the recording would be. Rows from before
hold NULL: nothing was noted.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("recording_problem", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("recording_problem")
