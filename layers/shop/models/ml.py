"""ML bookkeeping: training runs and the model versions they produced (artifacts live in S3)."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shop.coltypes import UTCDateTime, utcnow
from shop.models.base import Base

RUN_STATUSES: tuple[str, ...] = ("queued", "running", "succeeded", "failed", "skipped")
#: Why a run started: the nightly schedule, an admin, or the 15-minute check (`shop.ml.triggers`).
RUN_TRIGGERS: tuple[str, ...] = ("schedule", "manual", "new_data", "drift")


class TrainingRun(Base):
    """One retraining attempt, from queued to succeeded, failed or skipped.

    `active_slot` is "active" while the run is queued or running and NULL afterwards; its
    unique constraint is what makes "one active run at a time" hold across processes on
    every backend (NULLs never collide).
    """

    __tablename__ = "ml_training_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trigger: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="queued")
    active_slot: Mapped[str | None] = mapped_column(String(8), unique=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    promoted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'skipped')",
            name="status_valid",
        ),
        Index("ix_ml_training_runs_queued_at", "queued_at"),
    )


class ModelVersion(Base):
    """A trained model version whose artifact is in the store; `is_champion` marks the live one."""

    __tablename__ = "ml_model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(20), nullable=False)  # churn | spend
    version: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # gbm | bgnbd | rfm
    run_id: Mapped[int | None] = mapped_column(ForeignKey("ml_training_runs.id"))
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    is_champion: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_ml_model_versions_name_version"),
        Index("ix_ml_model_versions_name_trained", "name", "trained_at"),
    )
