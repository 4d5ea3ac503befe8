"""the case model: case due times and basis, step clocks, who let a step time out

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("basis", sa.String(length=16), server_default="rules", nullable=False)
        )
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("clock_started_at", storage.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("former_approvers", sa.JSON(), server_default="[]", nullable=False)
        )
    # Steps already open count their reminders from their opening.
    op.execute("UPDATE steps SET clock_started_at = opened_at WHERE opened_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_column("former_approvers")
        batch_op.drop_column("clock_started_at")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("basis")
        batch_op.drop_column("due_at")
