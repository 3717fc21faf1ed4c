"""behavior analytics: events by time first, and the planner's view of their UTC days

Revision ID: 0006_behavior_time_index
Revises: 0004_ml
Create Date: 2026-11-25 16:00:00.000000

`/ml/analytics/behavior` counts the last N days of events per UTC day and type. Without an
index led by `occurred_at` it read every event; without statistics on the UTC-day
expression PostgreSQL guessed one group per distinct timestamp and sorted the window on
disk instead of hashing a few hundred groups. Statistics objects are PostgreSQL's only (14+)
and invisible to autogenerate, so they live here and not in the models.
"""

from __future__ import annotations

from alembic import op

revision = "0006_behavior_time_index"
down_revision = "0004_ml"
branch_labels = None
depends_on = None

UTC_DAY_STATISTICS = (
    "CREATE STATISTICS IF NOT EXISTS st_behavior_events_utc_day "
    "ON (date(timezone('UTC', occurred_at))), event_type FROM behavior_events"
)


def upgrade() -> None:
    with op.batch_alter_table("behavior_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_behavior_events_time_type", ["occurred_at", "event_type"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(UTC_DAY_STATISTICS)
        op.execute("ANALYZE behavior_events")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_behavior_events_utc_day")
    with op.batch_alter_table("behavior_events", schema=None) as batch_op:
        batch_op.drop_index("ix_behavior_events_time_type")
