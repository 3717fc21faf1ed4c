"""payments: payment states on orders, who made each status change, events, refunds

Revision ID: 0010_payments
Revises: 0009_cancellations_index
Create Date: 2026-12-07 12:30:00.000000

Orders are now paid through a provider (Stripe, or the local test mode): they start
`awaiting_payment` and only the provider's event makes them `paid`. An order still `pending`
from before becomes `awaiting_payment` with its hold already over, so the first expiry run
gives its stock back (nobody could pay it any more). Orders already paid, shipped or
delivered get `paid_at` from their history. Each status change says who made it
(`actor_kind`): the shopper, an admin, the provider or the shop itself.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shop.coltypes

revision = "0010_payments"
down_revision = "0009_cancellations_index"
branch_labels = None
depends_on = None

NEW_STATUSES = (
    "awaiting_payment",
    "paid",
    "shipped",
    "delivered",
    "payment_failed",
    "expired",
    "cancelled",
    "partially_refunded",
    "refunded",
)
OLD_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")
ACTOR_KINDS = ("shopper", "admin", "provider", "system")
ENDED_INDEX = "ix_order_status_changes_cancelled"
STATS_COLUMNS = ["created_at", "status", "user_id", "total", "item_count", "id"]


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_orders_status_valid"), type_="check")
        batch_op.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("payment_provider", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("payment_ref", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("payment_intent_id", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("hold_until", shop.coltypes.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("paid_at", shop.coltypes.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "refunded_total",
                shop.coltypes.Money(),
                server_default="0",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("payment_error", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("payment_issue", sa.String(length=500), nullable=True))
        batch_op.create_unique_constraint(
            op.f("uq_orders_payment_intent_id"), ["payment_intent_id"]
        )
    with op.batch_alter_table("order_status_changes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("actor_kind", sa.String(length=20), server_default="shopper", nullable=False)
        )
    op.execute(
        "UPDATE orders SET status = 'awaiting_payment', hold_until = created_at "
        "WHERE status = 'pending'"
    )
    op.execute(
        "UPDATE order_status_changes SET status = 'awaiting_payment' WHERE status = 'pending'"
    )
    op.execute(
        "UPDATE orders SET paid_at = COALESCE((SELECT MIN(c.at) FROM order_status_changes c "
        "WHERE c.order_id = orders.id AND c.status = 'paid'), created_at) "
        "WHERE status IN ('paid', 'shipped', 'delivered')"
    )
    op.execute("UPDATE order_status_changes SET actor_kind = 'system' WHERE actor_id IS NULL")
    op.execute(
        "UPDATE order_status_changes SET actor_kind = 'admin' WHERE actor_id IS NOT NULL "
        "AND actor_id <> (SELECT o.user_id FROM orders o WHERE o.id = order_status_changes.order_id)"
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_orders_status_valid"), _one_of("status", NEW_STATUSES)
        )
        batch_op.create_index("ix_orders_status_hold", ["status", "hold_until"], unique=False)
        # Revenue is now total less refunds: the stats' index covers the refunds too.
        batch_op.drop_index("ix_orders_stats_window")
        batch_op.create_index("ix_orders_stats_window", [*STATS_COLUMNS, "refunded_total"])
    with op.batch_alter_table("order_status_changes", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_order_status_changes_actor_kind_valid"), _one_of("actor_kind", ACTOR_KINDS)
        )

    _ended_index("status IN ('cancelled', 'refunded')")

    op.create_table(
        "payment_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("received_at", shop.coltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_payment_events_event_id")),
    )
    op.create_index("ix_payment_events_received", "payment_events", ["received_at"])
    op.create_table(
        "payment_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.String(length=80), nullable=False),
        sa.Column("provider_refund_id", sa.String(length=255), nullable=False),
        sa.Column("amount", shop.coltypes.Money(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", shop.coltypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_payment_refunds_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_payment_refunds_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
        sa.UniqueConstraint(
            "provider_refund_id", name=op.f("uq_payment_refunds_provider_refund_id")
        ),
        sa.UniqueConstraint("order_id", "request_key", name="uq_payment_refunds_order_key"),
    )
    op.create_index(
        op.f("ix_payment_refunds_order_id"), "payment_refunds", ["order_id"], unique=False
    )
    op.create_table(
        "test_mode_intents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("client_secret", sa.String(length=128), nullable=False),
        sa.Column("refunded", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", shop.coltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_mode_intents")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_test_mode_intents_idempotency_key")),
    )


def _ended_index(predicate: str) -> None:
    """The ML features' partial index of the changes that end an order's money: a full
    refund ends it as a cancellation does (PostgreSQL and SQLite only)."""
    if op.get_bind().dialect.name not in ("postgresql", "sqlite"):
        return
    op.drop_index(ENDED_INDEX, table_name="order_status_changes")
    op.create_index(
        ENDED_INDEX,
        "order_status_changes",
        ["order_id", "at"],
        unique=False,
        postgresql_where=sa.text(predicate),
        sqlite_where=sa.text(predicate),
    )


def downgrade() -> None:
    """Orders in a payment state go back to the nearest old status; refunds are dropped."""
    _ended_index("status = 'cancelled'")
    op.drop_table("test_mode_intents")
    op.drop_index(op.f("ix_payment_refunds_order_id"), table_name="payment_refunds")
    op.drop_table("payment_refunds")
    op.drop_index("ix_payment_events_received", table_name="payment_events")
    op.drop_table("payment_events")
    with op.batch_alter_table("order_status_changes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_order_status_changes_actor_kind_valid"), type_="check")
        batch_op.drop_column("actor_kind")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_status_hold")
        batch_op.drop_index("ix_orders_stats_window")
        batch_op.create_index("ix_orders_stats_window", STATS_COLUMNS)
        batch_op.drop_constraint(op.f("ck_orders_status_valid"), type_="check")
    op.execute(
        "UPDATE orders SET status = 'pending' "
        "WHERE status IN ('awaiting_payment', 'payment_failed')"
    )
    op.execute("UPDATE orders SET status = 'cancelled' WHERE status IN ('expired', 'refunded')")
    op.execute("UPDATE orders SET status = 'paid' WHERE status = 'partially_refunded'")
    op.execute(
        "UPDATE order_status_changes SET status = 'pending' WHERE status NOT IN "
        "('pending', 'paid', 'shipped', 'delivered', 'cancelled')"
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_orders_status_valid"), _one_of("status", OLD_STATUSES)
        )
        batch_op.drop_constraint(op.f("uq_orders_payment_intent_id"), type_="unique")
        for column in (
            "payment_issue",
            "payment_error",
            "refunded_total",
            "paid_at",
            "hold_until",
            "payment_intent_id",
            "payment_ref",
            "payment_provider",
            "currency",
        ):
            batch_op.drop_column(column)
