"""the audit trail of the owners' decisions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-21

`audit_events`: who approved, edited or rejected a plan, answered a question, a review or a
check-in, steered a campaign, changed the Do-Not-Call list or the settings, and when. Rows
are only added; a user's events go with the user.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "plan_approved",
                "plan_edited",
                "plan_rejected",
                "question_answered",
                "call_reviewed",
                "check_in_answered",
                "campaign_paused",
                "campaign_resumed",
                "campaign_cancelled",
                "dnc_added",
                "dnc_removed",
                "settings_changed",
                name="auditaction",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_audit_events_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_user_id_at", "audit_events", ["user_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_events_user_id_at", table_name="audit_events")
    op.drop_table("audit_events")
