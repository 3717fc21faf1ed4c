"""imported transactions: a key per source line, and returns as negative orders

Revision ID: 0008_import_keys_and_returns
Revises: 0005_stats_indexes
Create Date: 2026-12-01 13:45:00.000000

`shopfn import transactions` stores a digest of each source line on the order it made
(unique), so importing a file twice adds nothing. Real logs hold returns: an imported order
may have a negative total and a line with a negative quantity (only when it was imported);
checkout still only ever writes non-negative amounts and positive quantities.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_import_keys_and_returns"
down_revision = "0005_stats_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_key", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_orders_import_key"), ["import_key"])
        batch_op.drop_constraint(op.f("ck_orders_amounts_non_negative"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_orders_amounts_non_negative_or_imported"),
            "(subtotal >= 0 AND total >= 0) OR import_key IS NOT NULL",
        )
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_order_items_quantity_positive"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_order_items_quantity_or_return"),
            "quantity >= 1 OR (quantity <= -1 AND line_total <= 0)",
        )


def downgrade() -> None:
    """Refused while imported returns exist: they cannot satisfy the old constraints."""
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_order_items_quantity_or_return"), type_="check")
        batch_op.create_check_constraint(op.f("ck_order_items_quantity_positive"), "quantity >= 1")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_orders_amounts_non_negative_or_imported"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_orders_amounts_non_negative"), "subtotal >= 0 AND total >= 0"
        )
        batch_op.drop_constraint(op.f("uq_orders_import_key"), type_="unique")
        batch_op.drop_column("import_key")
