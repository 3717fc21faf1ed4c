"""recommendations: which behavior events came from a recommendation

Revision ID: 0014_recommendations
Revises: 0009_cancellations_index
Create Date: 2026-12-07 12:30:00.000000

A product view or cart add made from a recommendation ("Often bought together", "Picked for
you", "Buy it again") records which list it came from in `behavior_events.source`, so the
admin page can count the sales recommendations led to. The index reads the few such events
of a period without scanning the rest.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_recommendations"
down_revision = "0009_cancellations_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("behavior_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=32), nullable=True))
        batch_op.create_index(
            "ix_behavior_events_source_time", ["source", "occurred_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("behavior_events", schema=None) as batch_op:
        batch_op.drop_index("ix_behavior_events_source_time")
        batch_op.drop_column("source")
