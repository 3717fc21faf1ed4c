"""products: SKUs compare with their letter case on MariaDB too

Revision ID: 0015_sku_case_sensitive
Revises: 0001_initial
Create Date: 2026-12-07 15:40:00.000000

A shop's product codes can differ only in case (the best-known public retail log has
"85123A" and "85123a"): they are two products. SQLite and PostgreSQL always kept them apart;
MariaDB's default collation made them one SKU. The column takes the binary collation there
(`shop.coltypes.ExactString`); nothing changes on the other databases. Existing SKUs stay
unique (codes unique without case are unique with it). Going back fails while two SKUs differ
only in case, as it should: the old collation cannot hold them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_sku_case_sensitive"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

_EXACT = "utf8mb4_bin"


def _on_mariadb() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade() -> None:
    if _on_mariadb():
        op.alter_column(
            "products",
            "sku",
            existing_type=sa.String(length=64),
            type_=sa.String(length=64, collation=_EXACT),
            existing_nullable=False,
        )


def downgrade() -> None:
    if _on_mariadb():
        table_collation = op.get_bind().scalar(
            sa.text(
                "SELECT table_collation FROM information_schema.tables"
                " WHERE table_schema = DATABASE() AND table_name = 'products'"
            )
        )
        op.alter_column(
            "products",
            "sku",
            existing_type=sa.String(length=64, collation=_EXACT),
            type_=sa.String(length=64, collation=table_collation),
            existing_nullable=False,
        )
