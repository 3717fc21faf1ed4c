"""cancellations index: the few "cancelled" status changes, by order, for the ML features

Revision ID: 0009_cancellations_index
Revises: 0008_import_keys_and_returns
Create Date: 2026-12-01 16:10:00.000000

Every feature query asks which orders were cancelled before its instant. Without an index
on the status, PostgreSQL answered that by reading the whole status history (two or more
rows per order), even for the 300 customers the 15-minute drift check samples: about half of
that check's time. A partial index holds only the cancellations (about 5% of orders), so
reading them all, or one order's, is a short index scan. PostgreSQL and SQLite only:
MariaDB has no partial indexes, and there the feature query reads as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_cancellations_index"
down_revision = "0008_import_keys_and_returns"
branch_labels = None
depends_on = None

NAME = "ix_order_status_changes_cancelled"
CANCELLED = "status = 'cancelled'"


def upgrade() -> None:
    if op.get_bind().dialect.name not in ("postgresql", "sqlite"):
        return
    op.create_index(
        NAME,
        "order_status_changes",
        ["order_id", "at"],
        unique=False,
        postgresql_where=sa.text(CANCELLED),
        sqlite_where=sa.text(CANCELLED),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name not in ("postgresql", "sqlite"):
        return
    op.drop_index(NAME, table_name="order_status_changes")
