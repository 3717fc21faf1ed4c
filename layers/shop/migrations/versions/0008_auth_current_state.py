"""auth current state: a token epoch per user, the address of failed sign-ins, throttle locks

Revision ID: 0008_auth_current_state
Revises: 0001_initial
Create Date: 2026-12-01 13:45:00.000000

Access tokens carry `users.token_epoch`, bumped on every role, active-flag or password change,
so a changed account's old tokens stop working on their next request. Failed sign-ins record
the client address, so one stranger cannot lock the owner out. `throttle_locks` holds one row
per throttled key, locked while a request counts against that key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shop.coltypes

revision = "0008_auth_current_state"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_epoch", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=80), nullable=True))
    op.create_table(
        "throttle_locks",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("touched_at", shop.coltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_throttle_locks")),
    )


def downgrade() -> None:
    op.drop_table("throttle_locks")
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_column("address")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("token_epoch")
