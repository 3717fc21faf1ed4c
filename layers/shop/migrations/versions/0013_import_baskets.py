"""imported baskets: a key per imported order line

Revision ID: 0013_import_baskets
Revises: 0009_cancellations_index
Create Date: 2026-12-07 12:20:00.000000

`shopfn import transactions --invoice-column` makes one order per basket (invoice and
customer) with one line item per source line. The order keeps the basket's key in
`orders.import_key`; each line item keeps its source line's digest here (unique), so a
later export with more months adds only the lines not seen before, to the right orders.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_import_baskets"
down_revision = "0009_cancellations_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_key", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_order_items_import_key"), ["import_key"])


def downgrade() -> None:
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_order_items_import_key"), type_="unique")
        batch_op.drop_column("import_key")
