"""stats indexes: one covering index for the admin sales figures over a window of orders

Revision ID: 0005_stats_indexes
Revises: 0002_commerce
Create Date: 2026-11-25 15:45:00.000000

`/orders/stats` reads every order created since the window's first day for its status,
customer, total and item count, and the ids of the live ones to join their lines. With
these columns in the index those reads are index-only (no heap visit once the table is
vacuumed), which matters as real orders carry wide shipping addresses.
"""

from __future__ import annotations

from alembic import op

revision = "0005_stats_indexes"
down_revision = "0002_commerce"
branch_labels = None
depends_on = None

COLUMNS = ["created_at", "status", "user_id", "total", "item_count", "id"]


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_stats_window", COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_stats_window")
