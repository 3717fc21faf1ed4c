"""Recording a trained model version: its files in the store, its row, its promotion."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from shop.ml.artifacts import ArtifactStore
from shop.models import ModelVersion


def save_model_version(
    session: Session,
    store: ArtifactStore,
    row: ModelVersion,
    files: dict[str, bytes],
    metadata: dict[str, Any],
    *,
    promote: bool,
) -> None:
    """Store a version's files, record its row and, if `promote`, make it the champion."""
    store.save_version(row.name, row.version, files, metadata)
    session.add(row)
    if promote:
        store.set_champion(row.name, row.version)
        session.execute(
            update(ModelVersion)
            .where(ModelVersion.name == row.name, ModelVersion.is_champion.is_(True))
            .values(is_champion=False, retired_at=row.trained_at)
        )
        row.is_champion = True
        row.promoted_at = row.trained_at
    session.commit()
