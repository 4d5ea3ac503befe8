"""remediation items, their card refs, and the daily digests sent

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remediation_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("per_field", sa.String(length=32), nullable=True),
        sa.Column("per_value", sa.String(length=300), nullable=True),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("due_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("next_action_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("escalated_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("acknowledged_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("closed_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("root_cause", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("claimed_until", storage.types.UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remediation_items")),
    )
    with op.batch_alter_table("remediation_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_remediation_items_code_per_value_status"),
            ["code", "per_value", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_remediation_items_status_next_action_at"),
            ["status", "next_action_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_remediation_items_owner_status"), ["owner", "status"], unique=False
        )
    op.create_table(
        "remediation_card_refs",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["remediation_items.id"],
            name=op.f("fk_remediation_card_refs_item_id_remediation_items"),
        ),
        sa.PrimaryKeyConstraint(
            "item_id", "person", "platform", name=op.f("pk_remediation_card_refs")
        ),
    )
    op.create_table(
        "digests_sent",
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("sent_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("person", "day", name=op.f("pk_digests_sent")),
    )


def downgrade() -> None:
    op.drop_table("digests_sent")
    op.drop_table("remediation_card_refs")
    with op.batch_alter_table("remediation_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remediation_items_owner_status"))
        batch_op.drop_index(batch_op.f("ix_remediation_items_status_next_action_at"))
        batch_op.drop_index(batch_op.f("ix_remediation_items_code_per_value_status"))
    op.drop_table("remediation_items")
