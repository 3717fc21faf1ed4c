"""coupons: codes, their uses, and the discount an order got

Revision ID: 0011_coupons
Revises: 0009_cancellations_index
Create Date: 2026-12-07 12:10:00.000000

A coupon is percent-off or amount-off, shared or personal (`user_id`), with an optional
minimum order, a window and two limits. Each use is one `coupon_redemptions` row, unique per
order; the order keeps the discount it got and which coupon gave it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shop.coltypes

revision = "0011_coupons"
down_revision = "0009_cancellations_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coupons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", shop.coltypes.Money(precision=12, scale=2), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("min_order", shop.coltypes.Money(precision=12, scale=2), nullable=True),
        sa.Column("starts_at", shop.coltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", shop.coltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("per_customer_limit", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("redemption_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", shop.coltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shop.coltypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('percent', 'amount')", name=op.f("ck_coupons_kind_valid")),
        sa.CheckConstraint(
            "value > 0 AND (kind = 'amount' OR value <= 100)",
            name=op.f("ck_coupons_value_in_range"),
        ),
        sa.CheckConstraint("redemption_count >= 0", name=op.f("ck_coupons_count_non_negative")),
        sa.CheckConstraint(
            "max_redemptions IS NULL OR redemption_count <= max_redemptions",
            name=op.f("ck_coupons_count_within_limit"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_coupons_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("code", name=op.f("uq_coupons_code")),
    )
    op.create_index(op.f("ix_coupons_user_id"), "coupons", ["user_id"], unique=False)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "discount",
                shop.coltypes.Money(precision=12, scale=2),
                server_default="0",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("coupon_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_orders_coupon_id_coupons"), "coupons", ["coupon_id"], ["id"]
        )
        batch_op.create_check_constraint(
            op.f("ck_orders_discount_in_range"),
            "discount >= 0 AND (discount = 0 OR discount <= subtotal)",
        )
    op.create_table(
        "coupon_redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("discount", shop.coltypes.Money(precision=12, scale=2), nullable=False),
        sa.Column("redeemed_at", shop.coltypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "discount >= 0", name=op.f("ck_coupon_redemptions_discount_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["coupon_id"], ["coupons.id"], name=op.f("fk_coupon_redemptions_coupon_id_coupons")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_coupon_redemptions_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_coupon_redemptions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_redemptions")),
        sa.UniqueConstraint("order_id", name=op.f("uq_coupon_redemptions_order_id")),
    )
    op.create_index(
        "ix_coupon_redemptions_coupon_user",
        "coupon_redemptions",
        ["coupon_id", "user_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_coupon_redemptions_coupon_user", table_name="coupon_redemptions")
    op.drop_table("coupon_redemptions")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_orders_discount_in_range"), type_="check")
        batch_op.drop_constraint(op.f("fk_orders_coupon_id_coupons"), type_="foreignkey")
        batch_op.drop_column("coupon_id")
        batch_op.drop_column("discount")
    op.drop_index(op.f("ix_coupons_user_id"), table_name="coupons")
    op.drop_table("coupons")
