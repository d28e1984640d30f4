"""what the bridge saw of the callee's voice

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

`calls.voice_activity`: the server VAD's turns of the callee, the level of their audio and the
transcriptions that came or failed (`media.speech_activity`). A call whose callee spoke is
judged by the analyzer even when no transcript arrived, instead of counting as a technical
failure. Rows from before hold `{}`: nothing was seen.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(
            sa.Column("voice_activity", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("voice_activity")
