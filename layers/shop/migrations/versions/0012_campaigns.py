"""retention campaigns: campaigns, each customer's group, the outbox, and the opt-out

Revision ID: 0012_campaigns
Revises: 0011_coupons
Create Date: 2026-12-07 12:40:00.000000

A campaign offers a personal coupon to customers the churn model flags, holding a random
share back as a control group; each customer's group is one row, unique per campaign, so it
is never drawn again. Messages wait in `outbox_messages` until sent. `users.marketing_opt_out`
is the account's switch for such messages.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shop.coltypes

revision = "0012_campaigns"
down_revision = "0011_coupons"
branch_labels = None
depends_on = None

MONEY = shop.coltypes.Money(precision=12, scale=2)
WHEN = shop.coltypes.UTCDateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("marketing_opt_out", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "retention_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("churn_threshold", sa.Float(), nullable=False),
        sa.Column("min_predicted_spend", MONEY, nullable=True),
        sa.Column("min_past_spend", MONEY, nullable=True),
        sa.Column("offer_kind", sa.String(length=10), nullable=False),
        sa.Column("offer_value", MONEY, nullable=False),
        sa.Column("offer_min_order", MONEY, nullable=True),
        sa.Column("offer_days", sa.Integer(), nullable=False),
        sa.Column("code_prefix", sa.String(length=20), nullable=False),
        sa.Column("starts_at", WHEN, nullable=False),
        sa.Column("ends_at", WHEN, nullable=False),
        sa.Column("control_share", sa.Float(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("last_run_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.CheckConstraint(
            "churn_threshold >= 0 AND churn_threshold <= 1",
            name=op.f("ck_retention_campaigns_threshold_range"),
        ),
        sa.CheckConstraint(
            "control_share > 0 AND control_share < 1",
            name=op.f("ck_retention_campaigns_control_share_range"),
        ),
        sa.CheckConstraint(
            "offer_kind IN ('percent', 'amount')",
            name=op.f("ck_retention_campaigns_offer_kind_valid"),
        ),
        sa.CheckConstraint(
            "offer_days >= 1", name=op.f("ck_retention_campaigns_offer_days_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_campaigns")),
    )
    op.create_table(
        "campaign_assignments",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=10), nullable=False),
        sa.Column("assigned_at", WHEN, nullable=False),
        sa.Column("churn_probability", sa.Float(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "group_name IN ('offer', 'control')", name=op.f("ck_campaign_assignments_group_valid")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["retention_campaigns.id"],
            name=op.f("fk_campaign_assignments_campaign_id_retention_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["coupon_id"], ["coupons.id"], name=op.f("fk_campaign_assignments_coupon_id_coupons")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_campaign_assignments_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_assignments")),
        sa.UniqueConstraint("campaign_id", "user_id", name="uq_campaign_assignments_campaign_user"),
    )
    op.create_index(
        op.f("ix_campaign_assignments_user_id"), "campaign_assignments", ["user_id"], unique=False
    )
    op.create_table(
        "outbox_messages",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("provider_id", sa.String(length=200), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("sent_at", WHEN, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'skipped', 'failed')",
            name=op.f("ck_outbox_messages_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["retention_campaigns.id"],
            name=op.f("fk_outbox_messages_campaign_id_retention_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_outbox_messages_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index("ix_outbox_messages_user_created", "outbox_messages", ["user_id", "created_at"])
    op.create_index("ix_outbox_messages_status", "outbox_messages", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_status", table_name="outbox_messages")
    op.drop_index("ix_outbox_messages_user_created", table_name="outbox_messages")
    op.drop_table("outbox_messages")
    op.drop_index(op.f("ix_campaign_assignments_user_id"), table_name="campaign_assignments")
    op.drop_table("campaign_assignments")
    op.drop_table("retention_campaigns")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("marketing_opt_out")
