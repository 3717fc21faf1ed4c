"""ml: training runs and model versions

Revision ID: 0004_ml
Revises: 0001_initial
Create Date: 2026-11-25 14:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shop.coltypes

revision = "0004_ml"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ml_training_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("active_slot", sa.String(length=8), nullable=True),
        sa.Column("queued_at", shop.coltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", shop.coltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", shop.coltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("promoted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'skipped')",
            name=op.f("ck_ml_training_runs_status_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ml_training_runs")),
        sa.UniqueConstraint("active_slot", name=op.f("uq_ml_training_runs_active_slot")),
    )
    op.create_index("ix_ml_training_runs_queued_at", "ml_training_runs", ["queued_at"])
    op.create_table(
        "ml_model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("trained_at", shop.coltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("is_champion", sa.Boolean(), nullable=False),
        sa.Column("promoted_at", shop.coltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_at", shop.coltypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["ml_training_runs.id"],
            name=op.f("fk_ml_model_versions_run_id_ml_training_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ml_model_versions")),
        sa.UniqueConstraint("name", "version", name="uq_ml_model_versions_name_version"),
    )
    op.create_index(
        "ix_ml_model_versions_name_trained", "ml_model_versions", ["name", "trained_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_ml_model_versions_name_trained", table_name="ml_model_versions")
    op.drop_table("ml_model_versions")
    op.drop_index("ix_ml_training_runs_queued_at", table_name="ml_training_runs")
    op.drop_table("ml_training_runs")
