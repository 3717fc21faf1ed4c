"""support: chat conversations, messages, hand-over tickets, chat rate-limit hits

Revision ID: 0003_support
Revises: 0001_initial
Create Date: 2026-11-25 14:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shop.coltypes

revision = "0003_support"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "support_conversations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("created_at", shop.coltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shop.coltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_support_conversations_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_conversations")),
    )
    with op.batch_alter_table("support_conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_support_conversations_user_updated", ["user_id", "updated_at"], unique=False
        )

    op.create_table(
        "support_messages",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("tools_used", sa.JSON(), nullable=False),
        sa.Column("created_at", shop.coltypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('user', 'assistant')", name=op.f("ck_support_messages_role_valid")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["support_conversations.id"],
            name=op.f("fk_support_messages_conversation_id_support_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_messages")),
    )
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_support_messages_conversation_id", ["conversation_id", "id"], unique=False
        )

    op.create_table(
        "support_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("created_at", shop.coltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shop.coltypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'resolved')",
            name=op.f("ck_support_tickets_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["support_conversations.id"],
            name=op.f("fk_support_tickets_conversation_id_support_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_support_tickets_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_tickets")),
    )
    with op.batch_alter_table("support_tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_tickets_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            "ix_support_tickets_status_created", ["status", "created_at"], unique=False
        )

    op.create_table(
        "support_rate_hits",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("bucket", sa.String(length=80), nullable=False),
        sa.Column("hit_at", shop.coltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_rate_hits")),
    )
    with op.batch_alter_table("support_rate_hits", schema=None) as batch_op:
        batch_op.create_index(
            "ix_support_rate_hits_bucket_hit_at", ["bucket", "hit_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("support_rate_hits")
    op.drop_table("support_tickets")
    op.drop_table("support_messages")
    op.drop_table("support_conversations")
