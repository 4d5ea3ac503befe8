"""overdue sweep and absences

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "absences",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("until", storage.types.UTCDateTime(), nullable=False),
        sa.Column("delegate", sa.String(length=64), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("ended_at", storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absences")),
    )
    with op.batch_alter_table("absences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_absences_person"), ["person"], unique=False)
        batch_op.create_index(batch_op.f("ix_absences_until"), ["until"], unique=False)

    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_action_at", storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("reminders_sent", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(sa.Column("escalated_at", storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("timeout_level", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(sa.Column("claimed_until", storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_steps_status_next_action_at"),
            ["status", "next_action_at"],
            unique=False,
        )

    # Reading a case (as the sweep does for every due step) looks up its assignments.
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_case_id"), ["case_id"], unique=False)

    # Steps already open keep their SLA: the sweep first looks at them when they fall due.
    op.execute("UPDATE steps SET next_action_at = due_at WHERE status = 'open'")


def downgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_case_id"))

    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_steps_status_next_action_at"))
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("timeout_level")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("reminders_sent")
        batch_op.drop_column("next_action_at")

    with op.batch_alter_table("absences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_absences_until"))
        batch_op.drop_index(batch_op.f("ix_absences_person"))

    op.drop_table("absences")
