"""training runs started from the CLI are "manual" runs, as the HTTP contract names them

Revision ID: 0007_manual_cli_runs
Revises: 0006_behavior_time_index
Create Date: 2026-11-25 16:50:00.000000

Early builds recorded `shopfn retrain` and first-start training as trigger "cli", a value
the API's run schema does not allow; listing such runs failed. They are manual runs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_manual_cli_runs"
down_revision = "0006_behavior_time_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Built, not written: TRIGGER is a reserved word on MariaDB and needs the dialect's quoting.
    runs = sa.table("ml_training_runs", sa.column("trigger", sa.String))
    op.execute(runs.update().where(runs.c.trigger == "cli").values(trigger="manual"))


def downgrade() -> None:
    """Nothing to undo: 'manual' is what these runs always were."""
